//go:build !amd64

package siv

const hasAESNI = false

func expandKey(*[16]byte, *[roundKeysLen]byte) { panic("siv: no AES-NI") }

func encryptBlock(*[roundKeysLen]byte, *[BlockSize]byte, *[BlockSize]byte) { panic("siv: no AES-NI") }
