package tickets

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/facilityd/facilityd/internal/testenv"
)

// sharedPG is the one PostgreSQL server of the package's tests; each test
// on it has a database of its own.
var sharedPG testenv.SharedPostgres

func TestMain(m *testing.M) {
	code := m.Run()
	sharedPG.Close()
	os.Exit(code)
}

// backends runs f once on each database the store supports, as subtests
// "sqlite" and "postgres"; inside f, tempDatabase and openTemp make
// databases of the subtest's kind. Without PostgreSQL the postgres
// subtest skips (fails with CI=true).
func backends(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	t.Run("sqlite", f)
	t.Run("postgres", f)
}

// onPostgres reports whether t runs inside the postgres subtest of
// backends.
func onPostgres(t testing.TB) bool { return slices.Contains(strings.Split(t.Name(), "/"), "postgres") }

// tempDatabase returns a new, empty database for t: a SQLite file, or in a
// postgres subtest the URL of a PostgreSQL database.
func tempDatabase(t testing.TB) string {
	t.Helper()
	if onPostgres(t) {
		return sharedPG.Database(t)
	}
	return filepath.Join(t.TempDir(), "tickets.db")
}
