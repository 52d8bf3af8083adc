package app

import (
	"context"
	"time"

	"github.com/facilityd/facilityd/rules"
	"github.com/facilityd/facilityd/web"
)

// The silence list shows the rule files' recurring windows too.
var _ web.WindowLister = (*app)(nil)

// The app serves web.SilenceService over the silences file in the state
// directory, which the CLI changes too; the rules goroutine picks changes up
// on its next tick (within a second).

// ListSilences implements web.SilenceService.
func (a *app) ListSilences(context.Context) ([]rules.Silence, error) { return a.silences.List() }

// AddSilence implements web.SilenceService.
func (a *app) AddSilence(_ context.Context, s rules.Silence) (rules.Silence, error) {
	now := a.now()
	if s.StartsAt.IsZero() {
		s.StartsAt = now
	}
	return a.silences.Add(s, now)
}

// ExpireSilence implements web.SilenceService.
func (a *app) ExpireSilence(_ context.Context, id string) error {
	return a.silences.Expire(id, a.now())
}

// MaintenanceWindows implements web.WindowLister: the recurring windows of
// the running config's rule files.
func (a *app) MaintenanceWindows(_ context.Context, now time.Time) []rules.WindowStatus {
	return rules.WindowStatuses(a.current().Windows, now)
}
