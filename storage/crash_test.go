package storage_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meridiankv/meridian/crdt"
	"github.com/meridiankv/meridian/storage"
	"github.com/meridiankv/meridian/wire"
)

// crashEnv, when set to "<sync mode>:<dir>", turns the test binary into the
// child of TestCrash (the os/exec tests' helper-process pattern).
const crashEnv = "MERIDIAN_STORAGE_CRASH_CHILD"

// crashAcks is how many acknowledged commits TestCrash waits for before it
// kills the child.
const crashAcks = 2000

// crashValue is the value the child writes to key i: 1 KiB, so that the
// run fills and switches several of the child's 1 MiB memtables.
func crashValue(i int) string { return fmt.Sprintf("v%d-%s", i, strings.Repeat("x", 1<<10)) }

// crashState is the state the child commits for key i.
func crashState(i int) crdt.State { return write(crdt.State{}, "n1", crashValue(i), int64(i+1)) }

// TestCrash kills a process that is committing as fast as it can with
// SIGKILL and checks that every commit it acknowledged survives: in both
// sync modes, a Commit that returned has reached the operating system.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns and kills a child process")
	}
	for _, mode := range []storage.SyncMode{storage.SyncAlways, storage.SyncBatched} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			acked := runCrashChild(t, mode, dir)
			t.Logf("%s: recovering from %s", mode, logFiles(t, dir))
			db := openDir(t, dir, storage.Options{Sync: mode})
			for i := range acked {
				if got, want := value(get(t, db, fmt.Sprintf("k%d", i))), crashValue(i); got != want {
					t.Fatalf("k%d: %.20q after the crash, want %.20q: an acknowledged commit was lost", i, got, want)
				}
			}
			extra := 0
			for ; !get(t, db, fmt.Sprintf("k%d", acked+extra)).IsZero(); extra++ {
			}
			t.Logf("%s: all %d acknowledged commits survived SIGKILL; %d more were committed but not yet acknowledged", mode, acked, extra)
		})
	}
}

// runCrashChild starts the child, reads its acknowledgements until it has
// seen crashAcks, kills it, reads what it acknowledged before dying and
// returns the number of consecutive keys acknowledged.
func runCrashChild(t *testing.T, mode storage.SyncMode, dir string) int {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+mode.String()+":"+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked, killed := 0, false
	var other strings.Builder // the testing package's own output
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		var n int
		if _, err := fmt.Sscanf(sc.Text(), "ack %d", &n); err != nil {
			fmt.Fprintln(&other, sc.Text())
			continue
		}
		if n != acked {
			t.Fatalf("child acknowledged key %d after %d keys", n, acked)
		}
		acked++
		if acked == crashAcks && !killed {
			if err := cmd.Process.Kill(); err != nil {
				t.Fatalf("killing the child: %v", err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child exited after %d acknowledgements: %v\n%s%s", acked, err, other.String(), stderr.String())
	}
	return acked
}

// TestCrashHelper is the child of TestCrash: it commits keys k0, k1, ...
// one per batch, and prints "ack i" only after Commit of ki returned, until
// it is killed.
func TestCrashHelper(t *testing.T) {
	spec := os.Getenv(crashEnv)
	if spec == "" {
		t.Skip("runs only as the child process of TestCrash")
	}
	modeName, dir, _ := strings.Cut(spec, ":")
	mode := storage.SyncAlways
	if modeName == storage.SyncBatched.String() {
		mode = storage.SyncBatched
	}
	// Small memtables make badger switch and flush them during the run,
	// so that recovery replays several write-ahead logs and tables.
	db, err := storage.Open(dir, storage.Options{Sync: mode, MemTableBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		b := puts(wire.Entry{Key: fmt.Appendf(nil, "k%d", i), State: crashState(i)})
		if err := db.Commit(b); err != nil {
			t.Fatalf("Commit k%d: %v", i, err)
		}
		if _, err := fmt.Fprintf(os.Stdout, "ack %d\n", i); err != nil {
			t.Fatalf("acknowledging k%d: %v", i, err)
		}
	}
}

// logFiles describes the badger logs and tables the child left in dir.
func logFiles(t *testing.T, dir string) string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, e := range entries {
		n[filepath.Ext(e.Name())]++
	}
	return fmt.Sprintf("%d write-ahead logs (.mem), %d tables (.sst), %d value logs (.vlog)", n[".mem"], n[".sst"], n[".vlog"])
}
