package runner

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"os"
)

// sealedScratch is a scratch file (Output.Temp) of an encrypting output:
// its bytes are XORed with an AES-256-CTR keystream under a random key
// that lives only in this process's memory, so the records an encoder
// spools for its second pass never reach the disk in plaintext either. The
// counter is derived from the file offset, so Seek, Read and Write work at
// any position. There is no authentication: the key dies with the run, and
// the file is read back only by the run that wrote it.
type sealedScratch struct {
	f     *os.File
	block cipher.Block
	iv    [aes.BlockSize]byte
	off   int64
	buf   []byte
}

func newSealedScratch(f *os.File) (*sealedScratch, error) {
	var key [32]byte
	s := &sealedScratch{f: f}
	if _, err := rand.Read(key[:]); err != nil {
		return nil, fmt.Errorf("scratch file key: %w", err)
	}
	if _, err := rand.Read(s.iv[:]); err != nil {
		return nil, fmt.Errorf("scratch file key: %w", err)
	}
	b, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, fmt.Errorf("scratch file key: %w", err)
	}
	s.block = b
	return s, nil
}

// xor applies the keystream for the file offset off to p in place.
func (s *sealedScratch) xor(p []byte, off int64) {
	if len(p) == 0 {
		return
	}
	var ctr [aes.BlockSize]byte
	hi, lo := binary.BigEndian.Uint64(s.iv[:8]), binary.BigEndian.Uint64(s.iv[8:])
	n := uint64(off) / aes.BlockSize
	if lo+n < lo {
		hi++
	}
	binary.BigEndian.PutUint64(ctr[:8], hi)
	binary.BigEndian.PutUint64(ctr[8:], lo+n)
	st := cipher.NewCTR(s.block, ctr[:])
	if skip := int(off % aes.BlockSize); skip > 0 {
		var pad [aes.BlockSize]byte
		st.XORKeyStream(pad[:skip], pad[:skip])
	}
	st.XORKeyStream(p, p)
}

func (s *sealedScratch) Write(p []byte) (int, error) {
	if cap(s.buf) < len(p) {
		s.buf = make([]byte, len(p))
	}
	b := s.buf[:len(p)]
	copy(b, p)
	s.xor(b, s.off)
	n, err := s.f.Write(b)
	s.off += int64(n)
	return n, err
}

func (s *sealedScratch) Read(p []byte) (int, error) {
	n, err := s.f.Read(p)
	s.xor(p[:n], s.off)
	s.off += int64(n)
	return n, err
}

func (s *sealedScratch) Seek(offset int64, whence int) (int64, error) {
	n, err := s.f.Seek(offset, whence)
	if err == nil {
		s.off = n
	}
	return n, err
}

func (s *sealedScratch) Close() error { return s.f.Close() }

// Name is the file's path (as *os.File has it).
func (s *sealedScratch) Name() string { return s.f.Name() }

var _ io.ReadWriteSeeker = (*sealedScratch)(nil)
