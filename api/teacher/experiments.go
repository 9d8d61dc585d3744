package teacher

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// classExperiment is what the class page says about an experiment the class is in
// (GET /v1/classes/{id}/experiments): which variant the class uses, and a button to
// take the class out.
type classExperiment struct {
	ExperimentID string    `json:"experiment_id"`
	Name         string    `json:"name"`
	Variant      string    `json:"variant"`
	Start        time.Time `json:"start"`
	End          time.Time `json:"end"`
	OptedOut     bool      `json:"opted_out"`
	Running      bool      `json:"running"`
}

// classExperiments reads the class's running experiments; a service without an
// experiment store (404) has none.
func (a *App) classExperiments(ctx context.Context, s *session, classID string) ([]classExperiment, error) {
	var out struct {
		Experiments []classExperiment `json:"experiments"`
	}
	err := a.call(ctx, s, http.MethodGet, "/v1/classes/"+url.PathEscape(classID)+"/experiments", nil, nil, &out)
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var running []classExperiment
	for _, x := range out.Experiments {
		if x.Running {
			running = append(running, x)
		}
	}
	return running, nil
}

// postOptOut takes the class out of an experiment (or back in), then returns to the
// class page.
func (a *App) postOptOut(w http.ResponseWriter, r *http.Request) {
	ref := sessionOf(r)
	classID, eid := r.PathValue("class"), r.PathValue("experiment")
	out := r.PostFormValue("opted_out") != "false"
	if err := a.call(r.Context(), ref.s, http.MethodPut, "/v1/classes/"+url.PathEscape(classID)+"/experiments/"+url.PathEscape(eid),
		nil, map[string]bool{"opted_out": out}, nil); err != nil {
		a.fail(w, r, err)
		return
	}
	msg := "Votre classe ne participe plus à l'expérience %s : elle reçoit de nouveau les suggestions habituelles."
	if !out {
		msg = "Votre classe participe de nouveau à l'expérience %s."
	}
	a.sessions.setFlash(ref.s, &flash{Kind: "ok", Text: fmt.Sprintf(msg, eid)})
	http.Redirect(w, r, Prefix+"/classes/"+url.PathEscape(classID)+"#flash", http.StatusSeeOther)
}
