package main

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/facilityd/facilityd/internal/duration"
)

// parseWhen reads a time: now, RFC 3339, a date (YYYY-MM-DD, local
// midnight), or a duration before now (-7d, -24h; a positive one counts
// back too).
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "now" {
		return now, nil
	}
	if d, err := duration.Parse(s); err == nil {
		if d > 0 {
			d = -d
		}
		return now.Add(d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, time.Local); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q: write an RFC 3339 time (2026-03-01T08:00:00+08:00), a date (2026-03-01), now, or a duration before now such as -7d or -24h", s)
}

// durationFlag is a flag.Value duration that also takes days (7d).
type durationFlag time.Duration

func (f *durationFlag) String() string { return time.Duration(*f).String() }

func (f *durationFlag) Set(s string) error {
	d, err := duration.Parse(s)
	if err != nil {
		return err
	}
	*f = durationFlag(d)
	return nil
}

// defaultActor is who runs the command: $USER, else the OS account name.
func defaultActor() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return ""
}

// needActor returns an error naming --actor when nobody is known to record.
func needActor(cmd, actor string) error {
	if strings.TrimSpace(actor) == "" {
		return errors.New(cmd + ": who makes the change is not known ($USER is unset and the OS user has no name): pass --actor NAME")
	}
	return nil
}
