// Command parcours is Parcours's one binary: the HTTP service, the data tools (generate,
// ingest, migrate, import), the offline evaluations, retention and token minting.
//
// It only wires packages together and reads configuration; no logic lives here.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/parcours-ent/parcours/datasets"
)

// Exit statuses of the contract.
const (
	exitOK      = 0
	exitFailure = 1
	exitBadUse  = 2
)

// usageError marks a bad command line (exit status 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func badUsage(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line and returns its exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "parcours:", err)
	return exitCode(err)
}

func exitCode(err error) int {
	var ue usageError
	switch {
	// A conflict with stored rows is bad input too: the file, line and field say what to
	// fix in the data (issue 13.3).
	case errors.As(err, &ue), errors.Is(err, datasets.ErrInvalid), errors.Is(err, datasets.ErrConflict), errors.Is(err, fs.ErrNotExist):
		return exitBadUse
	default:
		return exitFailure
	}
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "parcours",
		Short:         "Personalised learning-resource recommendations for a school ENT",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	for _, add := range commands {
		root.AddCommand(add())
	}
	return root
}

// commands are registered by the files that define them.
var commands []func() *cobra.Command

// exactArgs is cobra.ExactArgs with the contract's exit status.
func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return badUsage("%s: unexpected argument %q", c.CommandPath(), args[0])
	}
	return nil
}
