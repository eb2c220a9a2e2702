package sqs

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash"

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
	var sum [sha256.Size]byte
	b = append(b, s.receiptMAC(b, sum[:0])[:receiptMACLen]...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// receiptMAC appends the HMAC-SHA256 of body with the service's secret to
// sum; the HMACs are reused (a handle is made or checked for every message
// received and deleted).
func (s *Service) receiptMAC(body, sum []byte) []byte {
	m, _ := s.macs.Get().(hash.Hash)
	if m == nil {
		m = hmac.New(sha256.New, s.secret)
	}
	m.Reset()
	m.Write(body)
	sum = m.Sum(sum)
	s.macs.Put(m)
	return sum
}

// parseHandle decodes and authenticates a receipt handle of queue q.
func (s *Service) parseHandle(q *queue, h string) (receipt, error) {
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil || len(b) < 1+receiptMACLen || b[0] != receiptVersion {
		return receipt{}, badHandle(h)
	}
	body, mac := b[:len(b)-receiptMACLen], b[len(b)-receiptMACLen:]
	var sum [sha256.Size]byte
	if !hmac.Equal(mac, s.receiptMAC(body, sum[:0])[:receiptMACLen]) {
		return receipt{}, badHandle(h)
	}
	d := body[1:]
	n, k := binary.Uvarint(d)
	if k <= 0 || n > uint64(len(d)-k) {
		return receipt{}, badHandle(h)
	}
	r := receipt{gen: string(d[k : k+int(n)])}
	d = d[k+int(n):]
	seq, k := binary.Uvarint(d)
	if k <= 0 {
		return receipt{}, badHandle(h)
	}
	d = d[k:]
	rc, k := binary.Uvarint(d)
	if k <= 0 || k != len(d) {
		return receipt{}, badHandle(h)
	}
	r.seq, r.receives = seq, int32(rc)
	if r.gen != q.gen {
		return receipt{}, badHandle(h)
	}
	return r, nil
}

// badHandle is the error for a receipt handle that is not one.
func badHandle(h string) error {
	return awsapi.Errorf(awsapi.CodeReceiptHandleIsInvalid, "The input receipt handle \"%s\" is not a valid receipt handle.", h)
}
