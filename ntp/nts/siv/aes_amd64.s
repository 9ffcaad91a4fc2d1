#include "textflag.h"

// func cpuidECX1() uint32 — ECX of CPUID leaf 1 (bit 25: AES-NI).
TEXT ·cpuidECX1(SB), NOSPLIT, $0-4
	MOVL $1, AX
	XORL CX, CX
	CPUID
	MOVL CX, ret+0(FP)
	RET

// One AES-128 key-schedule step (Intel's AES-NI white paper, key expansion
// for 128-bit keys): X0 = previous round key, X4 = 0 on entry, BX = where the
// next round key goes.
#define EXPAND(rcon) \
	AESKEYGENASSIST $rcon, X0, X1; \
	PSHUFD $0xff, X1, X1; \
	SHUFPS $0x10, X0, X4; \
	PXOR X4, X0; \
	SHUFPS $0x8c, X0, X4; \
	PXOR X4, X0; \
	PXOR X1, X0; \
	MOVUPS X0, (BX); \
	ADDQ $16, BX

// func expandKeyAsm(key *byte, rk *byte) — 16-byte key → 11 round keys (176 bytes).
TEXT ·expandKeyAsm(SB), NOSPLIT, $0-16
	MOVQ key+0(FP), AX
	MOVQ rk+8(FP), BX
	MOVUPS (AX), X0
	MOVUPS X0, (BX)
	ADDQ $16, BX
	PXOR X4, X4
	EXPAND(0x01)
	EXPAND(0x02)
	EXPAND(0x04)
	EXPAND(0x08)
	EXPAND(0x10)
	EXPAND(0x20)
	EXPAND(0x40)
	EXPAND(0x80)
	EXPAND(0x1b)
	EXPAND(0x36)
	RET

// func encryptBlockAsm(rk *byte, dst *byte, src *byte) — one AES-128 block.
TEXT ·encryptBlockAsm(SB), NOSPLIT, $0-24
	MOVQ rk+0(FP), AX
	MOVQ dst+8(FP), DX
	MOVQ src+16(FP), BX
	MOVUPS (BX), X0
	MOVUPS 0(AX), X1
	PXOR X1, X0
	MOVUPS 16(AX), X1
	AESENC X1, X0
	MOVUPS 32(AX), X1
	AESENC X1, X0
	MOVUPS 48(AX), X1
	AESENC X1, X0
	MOVUPS 64(AX), X1
	AESENC X1, X0
	MOVUPS 80(AX), X1
	AESENC X1, X0
	MOVUPS 96(AX), X1
	AESENC X1, X0
	MOVUPS 112(AX), X1
	AESENC X1, X0
	MOVUPS 128(AX), X1
	AESENC X1, X0
	MOVUPS 144(AX), X1
	AESENC X1, X0
	MOVUPS 160(AX), X1
	AESENCLAST X1, X0
	MOVUPS X0, (DX)
	RET
