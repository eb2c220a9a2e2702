package sqs

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"

	"github.com/conveyor/conveyor/internal/awsapi"
)

// receipt is what a receipt handle carries.
type receipt struct {
	gen      string // the queue's generation
	seq      uint64
	receives int32
}

const receiptVersion = 1

// receiptMACLen is the length of the truncated HMAC-SHA256 in a handle.
const receiptMACLen = 16

// handle encodes r as an opaque receipt handle authenticated with the
// service's secret.
func (s *Service) handle(r receipt) string {
	b := []byte{receiptVersion}
	b = binary.AppendUvarint(b, uint64(len(r.gen)))
	b = append(b, r.gen...)
	b = binary.AppendUvarint(b, r.seq)
	b = binary.AppendUvarint(b, uint64(r.receives))
	m := hmac.New(sha256.New, s.secret)
	m.Write(b)
	b = append(b, m.Sum(nil)[:receiptMACLen]...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// parseHandle decodes and authenticates a receipt handle of queue q.
func (s *Service) parseHandle(q *queue, h string) (receipt, error) {
	bad := awsapi.Errorf(awsapi.CodeReceiptHandleIsInvalid, "The input receipt handle \"%s\" is not a valid receipt handle.", h)
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil || len(b) < 1+receiptMACLen || b[0] != receiptVersion {
		return receipt{}, bad
	}
	body, mac := b[:len(b)-receiptMACLen], b[len(b)-receiptMACLen:]
	m := hmac.New(sha256.New, s.secret)
	m.Write(body)
	if !hmac.Equal(mac, m.Sum(nil)[:receiptMACLen]) {
		return receipt{}, bad
	}
	d := body[1:]
	n, k := binary.Uvarint(d)
	if k <= 0 || n > uint64(len(d)-k) {
		return receipt{}, bad
	}
	r := receipt{gen: string(d[k : k+int(n)])}
	d = d[k+int(n):]
	seq, k := binary.Uvarint(d)
	if k <= 0 {
		return receipt{}, bad
	}
	d = d[k:]
	rc, k := binary.Uvarint(d)
	if k <= 0 || k != len(d) {
		return receipt{}, bad
	}
	r.seq, r.receives = seq, int32(rc)
	if r.gen != q.gen {
		return receipt{}, bad
	}
	return r, nil
}
