// Command facilityd watches a building's equipment over Modbus and MQTT,
// stores readings in InfluxDB, evaluates rules and opens maintenance tickets.
//
//	facilityd run -c FILE       the daemon (SIGHUP reloads the config)
//	facilityd check -c FILE     validate the config, profiles and rules
//	facilityd sim -c FILE       simulated equipment for the config's devices
//	facilityd tickets SUBCOMMAND -c FILE
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	_ "time/tzdata" // maintenance windows name zones; hosts without zoneinfo still work
)

const usage = `facilityd — building equipment monitoring, alerts and maintenance tickets

Usage:
  facilityd run -c FILE            run the daemon (SIGHUP reloads, SIGINT/SIGTERM stop)
  facilityd check -c FILE          validate config, profiles and rules; exit 1 on errors
  facilityd sim -c FILE [--fault DEVICE:KIND@DELAY]...
                                   serve the config's devices from a Modbus TCP simulator
  facilityd tickets list|show|ack|start|hold|resolve|close|cancel|assign|comment|follow-up|create|stats|outbox
                        -c FILE [--json] [--actor NAME] ...
                                   the operator's ticket CLI ("facilityd tickets help" for each)
  facilityd rules test FILE...      run rule unit tests (YAML: input series, expected alerts)
  facilityd rules replay -c FILE --from T --to T [--step 10s] [--rule NAME]...
                                   evaluate the rules over InfluxDB history: what would have fired
  facilityd silences list|add|expire -c FILE
                                   silences and maintenance windows ("facilityd silences help")
  facilityd modbus read -c FILE --device ID | --address HOST:PORT --unit N --register holding
                        --start 40001 --count 10 --type float32 [--byte-order CDAB]
                                   read a device once: decoded values and raw registers
  facilityd inspections list|show|done|skip|history|report -c FILE ...
                                   preventive maintenance plans ("facilityd inspections help")
  facilityd energy baseline|anomalies --csv METER.csv --temperature-csv TEMP.csv ...
                                   CalTRACK baselines and anomalies from files ("facilityd energy help")
  facilityd report energy -c FILE --period 2026-11 [--building B] [--category C]
                        --format html|pdf|csv|xlsx [--lang en|zh-CN] -o OUT
                                   the managers' energy report ("facilityd report energy --help")
  facilityd portfolio -c PORTFOLIO.yaml [--check]
                                   one view and API across the sites of a shared database
  facilityd version
`

var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches a subcommand and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "run":
		err = cmdRun(ctx, rest, stderr)
	case "check":
		err = cmdCheck(rest, stdout)
	case "sim":
		err = cmdSim(ctx, rest, stderr)
	case "tickets":
		err = cmdTickets(ctx, rest, stdout)
	case "rules":
		err = cmdRules(ctx, rest, stdout, stderr)
	case "silences":
		err = cmdSilences(rest, stdout)
	case "modbus":
		err = cmdModbus(ctx, rest, stdout)
	case "inspections":
		err = cmdInspections(ctx, rest, stdout)
	case "energy":
		err = cmdEnergy(rest, stdout, stderr)
	case "report":
		err = cmdReport(ctx, rest, stdout, stderr)
	case "portfolio":
		err = cmdPortfolio(ctx, rest, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "facilityd", version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "facilityd: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) { // SUB --help printed its usage: not a failure
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, strings.TrimRight(err.Error(), "\n"))
		return 1
	}
	return 0
}

// newLogger logs text to w at the given level.
func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w (use debug, info, warn or error)", err)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// flags returns a FlagSet with the -c option every subcommand shares.
func flags(name string, out io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("facilityd "+name, flag.ContinueOnError)
	fs.SetOutput(out)
	cfg := fs.String("c", "/etc/facilityd/facilityd.yaml", "config file")
	return fs, cfg
}

// reloads turns SIGHUP into a channel of reload requests.
func reloads(ctx context.Context) <-chan struct{} {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	out := make(chan struct{}, 1)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				select {
				case out <- struct{}{}:
				default:
				}
			}
		}
	}()
	return out
}
