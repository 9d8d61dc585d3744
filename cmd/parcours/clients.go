package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/parcours-ent/parcours/api"
	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/pgstore"
)

func init() { commands = append(commands, clientsCmd) }

// LRS clients live in PostgreSQL (DATABASE_URL); the embedded store keeps nothing across
// runs, so without a database they live in PARCOURS_CLIENTS_FILE (one JSON object a line,
// the secret only as its Argon2id hash), which `serve` reads at start and re-reads when
// it changes.

func clientsCmd() *cobra.Command {
	root := &cobra.Command{Use: "clients", Short: "Manage the LRS clients allowed to send xAPI statements with HTTP Basic credentials"}
	var name string
	add := &cobra.Command{
		Use:   "add --name N",
		Short: "Create an LRS client; prints its key and secret (the secret is shown once and stored only hashed)",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if name == "" {
				return badUsage("clients add: --name is required")
			}
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			cl, secret, err := api.NewLRSClient(name)
			if err != nil {
				return badUsage("clients add: %v", err)
			}
			switch {
			case cfg.DatabaseURL != "":
				ctx := c.Context()
				store, err := pgstore.Open(ctx, cfg.DatabaseURL, pgstore.Options{Migrate: true})
				if err != nil {
					return err
				}
				defer store.Close()
				if err := store.PutClient(ctx, cl); err != nil {
					return err
				}
			case cfg.ClientsFile != "":
				if err := appendClient(cfg.ClientsFile, cl); err != nil {
					return err
				}
			default:
				return badUsage("clients add: set DATABASE_URL, or PARCOURS_CLIENTS_FILE for the embedded store")
			}
			fmt.Fprintf(c.OutOrStdout(), "key: %s\nsecret: %s\n", cl.Key, secret)
			fmt.Fprintln(c.ErrOrStderr(), "Give both to the LRS client as HTTP Basic credentials (Moodle logstore_xapi: username and password). The secret is not stored and cannot be shown again.")
			return nil
		},
	}
	add.Flags().StringVar(&name, "name", "", "what the client is, e.g. moodle-lycee-hugo")
	root.AddCommand(add)
	return root
}

// clientLine is a client in PARCOURS_CLIENTS_FILE.
type clientLine struct {
	Key        string    `json:"key"`
	Name       string    `json:"name"`
	SecretHash string    `json:"secret_hash"`
	CreatedAt  time.Time `json:"created_at"`
}

func appendClient(path string, c recommender.Client) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("clients add: %w", err)
	}
	b, _ := json.Marshal(clientLine{Key: c.Key, Name: c.Name, SecretHash: c.SecretHash, CreatedAt: c.CreatedAt})
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("clients add: %w", err)
	}
	return nil
}

// loadClients puts the clients of path into store, skipping those already there.
func loadClients(ctx context.Context, path string, store recommender.ClientStore) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("PARCOURS_CLIENTS_FILE: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var cl clientLine
		if err := json.Unmarshal(sc.Bytes(), &cl); err != nil || cl.Key == "" || cl.SecretHash == "" {
			return fmt.Errorf("PARCOURS_CLIENTS_FILE %s:%d: not a client line", path, line)
		}
		err := store.PutClient(ctx, recommender.Client{Key: cl.Key, Name: cl.Name, SecretHash: cl.SecretHash, CreatedAt: cl.CreatedAt})
		if err != nil && !errors.Is(err, recommender.ErrConflict) {
			return err
		}
	}
	return sc.Err()
}

// watchClients re-reads path when its modification time changes, so that a client added
// while the embedded store is serving is accepted without a restart.
func (m *Main) watchClients(ctx context.Context, path string, store recommender.ClientStore, every time.Duration) {
	var last time.Time
	if fi, err := os.Stat(path); err == nil {
		last = fi.ModTime()
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fi, err := os.Stat(path)
		if err != nil || fi.ModTime().Equal(last) {
			continue
		}
		last = fi.ModTime()
		if err := loadClients(ctx, path, store); err != nil {
			m.Logger.Warn("reloading LRS clients", "err", err.Error())
		}
	}
}
