package pades

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"testing"
)

func TestOverlay(t *testing.T) {
	doc := []byte("%PDF-1.7 the document")
	sum := sha256.Sum256(doc)
	o := NewOverlay(bytes.NewReader(doc), int64(len(doc)))
	// Sign writes the document first, then appends.
	if n, err := o.Write(append(append([]byte{}, doc...), " update"...)); err != nil || n != len(doc)+7 {
		t.Fatalf("Write: %d, %v", n, err)
	}
	if err := o.Check(hex.EncodeToString(sum[:])); err != nil {
		t.Fatal(err)
	}
	if got := string(o.Tail()); got != " update" || o.Size() != int64(len(doc))+7 {
		t.Fatalf("tail %q, size %d", got, o.Size())
	}
	// A read across the end of the document and into the tail.
	buf := make([]byte, 10)
	n, err := o.ReadAt(buf, int64(len(doc))-3)
	if err != nil || string(buf[:n]) != "ent update" {
		t.Fatalf("ReadAt: %q, %v", buf[:n], err)
	}
	if _, err := o.ReadAt(buf, o.Size()-2); err != io.EOF {
		t.Fatalf("ReadAt past the end: %v, want EOF", err)
	}
	if _, err := o.ReadAt(buf, -1); err == nil {
		t.Fatal("negative offset accepted")
	}
	if _, err := o.WriteAt([]byte("x"), 3); err == nil {
		t.Fatal("a write into the document was accepted")
	}
	if _, err := o.WriteAt([]byte("x"), int64(len(doc))+MaxOverlayTail); err == nil {
		t.Fatal("a tail past the bound was accepted")
	}
	// A copy that is not the document fails the check.
	other := NewOverlay(bytes.NewReader(doc), int64(len(doc)))
	other.Write(bytes.ToUpper(doc))
	if err := other.Check(hex.EncodeToString(sum[:])); err == nil {
		t.Fatal("a different copy passed the check")
	}
	short := NewOverlay(bytes.NewReader(doc), int64(len(doc)))
	short.Write(doc[:4])
	if err := short.Check(hex.EncodeToString(sum[:])); err == nil {
		t.Fatal("a partial copy passed the check")
	}
}
