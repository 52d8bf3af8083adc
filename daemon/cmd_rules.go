package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/facilityd/facilityd/rules/ruletest"
)

// cmdRules runs `facilityd rules test FILE...` and `facilityd rules replay`.
func cmdRules(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("rules: want a subcommand: test or replay")
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, rulesUsage)
		return nil
	case "test":
		return cmdRulesTest(rest, stdout)
	case "replay":
		return cmdRulesReplay(ctx, rest, stdout, stderr)
	default:
		return fmt.Errorf("rules: unknown subcommand %q: use test or replay", sub)
	}
}

const rulesUsage = `facilityd rules SUBCOMMAND
  test FILE...          run rule unit test files (e.g. configs/rules/tests/*.yaml)
  replay -c FILE ...    evaluate the rules over InfluxDB history (facilityd rules replay --help)
`

const rulesTestUsage = `Usage: facilityd rules test FILE...
  runs the rule unit tests of each file; exits 1 when a test fails or a file does not load
`

// cmdRulesTest runs rule unit test files; it fails when a test fails or a
// file does not load.
func cmdRulesTest(args []string, stdout io.Writer) error {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		fmt.Fprint(stdout, rulesTestUsage)
		return nil
	}
	if len(args) == 0 {
		return errors.New("rules test: want one or more test files, e.g. configs/rules/tests/*.yaml")
	}
	results, err := ruletest.Run(stdout, args...)
	if err != nil {
		return errors.New("rules test: some files did not load")
	}
	tests, failed := 0, 0
	for _, r := range results {
		tests += r.Tests
		failed += r.Failed
	}
	if failed > 0 {
		return fmt.Errorf("rules test: %d of %d tests failed", failed, tests)
	}
	fmt.Fprintf(stdout, "rules test: %d tests in %d file(s) passed\n", tests, len(results))
	return nil
}
