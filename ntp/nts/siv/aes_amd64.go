package siv

//go:noescape
func expandKeyAsm(key *byte, rk *byte)

//go:noescape
func encryptBlockAsm(rk *byte, dst *byte, src *byte)

func cpuidECX1() uint32

// hasAESNI is computed once at start-up and never changes (CPUID is a trap
// to the hypervisor on a VM, too slow to ask per key).
var hasAESNI = cpuidECX1()&(1<<25) != 0

func expandKey(key *[16]byte, rk *[roundKeysLen]byte) { expandKeyAsm(&key[0], &rk[0]) }

func encryptBlock(rk *[roundKeysLen]byte, dst, src *[BlockSize]byte) {
	encryptBlockAsm(&rk[0], &dst[0], &src[0])
}
