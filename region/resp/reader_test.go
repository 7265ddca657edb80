package resp

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// readRequests reads every request of input until an error.
func readRequests(input string, maxSize, maxArgs int) ([][]string, error) {
	r := newReader(strings.NewReader(input), maxSize, maxArgs)
	var out [][]string
	for {
		args, size, err := r.read(nil)
		if err != nil {
			return out, err
		}
		if size > maxSize {
			return out, errors.New("a request beyond the size limit was read")
		}
		var req []string
		for _, a := range args {
			req = append(req, string(a))
		}
		out = append(out, req)
	}
}

func TestReader(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  [][]string
		err   string // "" for io.EOF after the requests
	}{
		{"multibulk", "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", [][]string{{"GET", "k"}}, ""},
		{"binary value", "*2\r\n$4\r\nECHO\r\n$4\r\na\r\nb\r\n", [][]string{{"ECHO", "a\r\nb"}}, ""},
		{"empty bulk", "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", [][]string{{"ECHO", ""}}, ""},
		{"pipeline", "*1\r\n$4\r\nPING\r\nPING\r\n*1\r\n$4\r\nPING\r\n", [][]string{{"PING"}, {"PING"}, {"PING"}}, ""},
		{"bare LF", "*1\n$4\nPING\r\nPING\n", [][]string{{"PING"}, {"PING"}}, ""},
		{"empty lines and multibulks", "\r\n\n*0\r\n*-1\r\nPING\r\n", [][]string{{"PING"}}, ""},
		{"inline blanks", "  SET\tk  v \r\n", [][]string{{"SET", "k", "v"}}, ""},
		{"inline quotes", `"a b" '' "\x41\n"` + "\r\n", [][]string{{"a b", "", "A\n"}}, ""},
		{"inline single quote escape", `ECHO 'it\'s \n'` + "\r\n", [][]string{{"ECHO", `it's \n`}}, ""},
		{"inline quote inside a word", `ECHO ab"c d"` + "\r\n", [][]string{{"ECHO", "abc d"}}, ""},
		{"closing quote before a letter", `ECHO "a"b` + "\r\n", nil, "Protocol error: unbalanced quotes in request"},
		{"unterminated quote", `ECHO "ab` + "\r\n", nil, "Protocol error: unbalanced quotes in request"},
		{"truncated bulk", "*1\r\n$10\r\nPING", nil, io.ErrUnexpectedEOF.Error()},
		{"truncated multibulk", "*2\r\n$4\r\nPING\r\n", nil, io.EOF.Error()},
		{"too many arguments", "*4\r\n", nil, "Protocol error: more than 3 arguments in one request"},
		{"too large", "*1\r\n$100\r\n", nil, "Protocol error: request larger than 64 bytes"},
		{"at the limit", "*1\r\n$53\r\n" + strings.Repeat("x", 53) + "\r\n", [][]string{{strings.Repeat("x", 53)}}, ""},
		{"over the limit by one", "*1\r\n$54\r\n", nil, "Protocol error: request larger than 64 bytes"},
		{"size counts every argument", "*3\r\n$20\r\n" + strings.Repeat("x", 20) + "\r\n$20\r\n" + strings.Repeat("x", 20) + "\r\n$1\r\n", nil, "Protocol error: request larger than 64 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readRequests(tt.input, 64, 3)
			wantErr := tt.err
			if wantErr == "" {
				wantErr = io.EOF.Error()
			}
			if err == nil || err.Error() != wantErr {
				t.Errorf("error %v; want %s", err, wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q; want %q", got, tt.want)
			}
		})
	}
}

// TestReaderArgumentsAreNotShared: the bytes of one request's arguments are
// never reused for a later one's.
func TestReaderArgumentsAreNotShared(t *testing.T) {
	var input bytes.Buffer
	for range 2000 {
		input.WriteString("*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n")
	}
	r := newReader(&input, 1<<20, 10)
	var kept [][]byte
	for {
		args, _, err := r.read(nil)
		if err != nil {
			break
		}
		kept = append(kept, args[1])
	}
	for i, k := range kept {
		if string(k) != "hello" {
			t.Fatalf("argument %d became %q", i, k)
		}
	}
}

func FuzzReader(f *testing.F) {
	for _, seed := range []string{
		"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", "PING\r\n", `SET "a\x41" 'b\'c'` + "\n", "*1\r\n$-1\r\n", "*3\r\n$1\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		r := newReader(bytes.NewReader(input), 256, 8)
		for range len(input) + 1 {
			args, size, err := r.read(nil)
			if err != nil {
				return
			}
			if len(args) == 0 || len(args) > 8 || size > 256 {
				t.Fatalf("read %d arguments of %d bytes, beyond the limits", len(args), size)
			}
		}
	})
}
