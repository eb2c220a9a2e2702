package lambdatest

import (
	"archive/zip"
	"bytes"
	"testing"
)

// ScriptZip is a function's code of one executable file, name, holding script: a
// bootstrap, or a conveyor.command function's command.
func ScriptZip(t testing.TB, name, script string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: name}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err == nil {
		_, err = w.Write([]byte(script))
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
