"""A small eBPF assembler: named instructions, jumps to labels.

Programs are written as calls (``a.mov(R0, 0)``, ``a.jeq(R2, 17, "udp")``,
``a.label("udp")``); ``assemble()`` resolves every jump from its label, so no
offset is ever counted by hand, and refuses a jump that does not fit the
16-bit offset field. Instructions are packed little-endian, the only byte
order the agent supports (``syscalls.native_little_endian()`` refuses others
before anything is loaded).

Registers: R0 (return value, helper results), R1-R5 (helper arguments,
clobbered by calls), R6-R9 (kept across calls), R10 (read-only frame pointer).
"""

import struct


class Reg(object):
    """A register. As an operand it means the register; a plain integer means an immediate."""

    __slots__ = ("number",)

    def __init__(self, number):
        self.number = number

    def __repr__(self):
        return "R%d" % self.number


R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10 = (Reg(n) for n in range(11))

# instruction classes
LD, LDX, ST, STX, ALU, JMP, JMP32, ALU64 = 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07
# sizes
SIZES = {1: 0x10, 2: 0x08, 4: 0x00, 8: 0x18}
MEM, IMM, ATOMIC = 0x60, 0x00, 0xC0
# source operand
K, X = 0x00, 0x08
ALU_OPS = {"add": 0x00, "sub": 0x10, "mul": 0x20, "div": 0x30, "or": 0x40, "and": 0x50, "lsh": 0x60}
ALU_OPS.update({"rsh": 0x70, "neg": 0x80, "mod": 0x90, "xor": 0xA0, "mov": 0xB0, "arsh": 0xC0})
JMP_OPS = {"ja": 0x00, "jeq": 0x10, "jgt": 0x20, "jge": 0x30, "jset": 0x40, "jne": 0x50, "jsgt": 0x60}
JMP_OPS.update({"jsge": 0x70, "call": 0x80, "exit": 0x90, "jlt": 0xA0, "jle": 0xB0, "jslt": 0xC0, "jsle": 0xD0})
END, TO_BE = 0xD0, 0x08
PSEUDO_MAP_FD = 1


class AsmError(ValueError):
    pass


class _Insn(object):
    __slots__ = ("code", "dst", "src", "off", "imm", "label", "comment")

    def __init__(self, code, dst=0, src=0, off=0, imm=0, label=None, comment=None):
        self.code, self.dst, self.src, self.off, self.imm = code, dst, src, off, imm
        self.label = label  # a jump's target, resolved by assemble()
        self.comment = comment


def _reg(value):
    if not isinstance(value, Reg):
        raise AsmError("expected a register R0-R10, got %r" % (value,))
    return value.number


def _imm32(value):
    if isinstance(value, Reg) or not isinstance(value, int):
        raise AsmError("expected an integer immediate, got %r" % (value,))
    if not -(1 << 31) <= value < (1 << 32):
        raise AsmError("immediate %r does not fit 32 bits" % (value,))
    return value - (1 << 32) if value >= (1 << 31) else value


class Program(object):
    """An eBPF program under construction."""

    def __init__(self):
        self.insns = []
        self.labels = {}

    # -- building blocks
    def _emit(self, insn):
        self.insns.append(insn)
        return self

    def label(self, name):
        if name in self.labels:
            raise AsmError("label %r defined twice" % name)
        self.labels[name] = len(self.insns)
        return self

    def _alu(self, op, dst, src_or_imm, cls):
        if isinstance(src_or_imm, Reg):
            return self._emit(_Insn(cls | ALU_OPS[op] | X, _reg(dst), src_or_imm.number))
        return self._emit(_Insn(cls | ALU_OPS[op] | K, _reg(dst), imm=_imm32(src_or_imm)))

    def alu64(self, op, dst, src_or_imm):
        """dst = dst <op> src (64 bits); ``src_or_imm`` a register or an integer."""
        return self._alu(op, dst, src_or_imm, ALU64)

    def alu32(self, op, dst, src_or_imm):
        """The same on the low 32 bits (the upper 32 are zeroed)."""
        return self._alu(op, dst, src_or_imm, ALU)

    def mov(self, dst, src_or_imm):
        return self.alu64("mov", dst, src_or_imm)

    def add(self, dst, src_or_imm):
        return self.alu64("add", dst, src_or_imm)

    def and_(self, dst, src_or_imm):
        return self.alu64("and", dst, src_or_imm)

    def lsh(self, dst, src_or_imm):
        return self.alu64("lsh", dst, src_or_imm)

    def rsh(self, dst, src_or_imm):
        return self.alu64("rsh", dst, src_or_imm)

    def be(self, dst, bits):
        """dst = dst converted between network order and the host's (16, 32 or 64 bits)."""
        if bits not in (16, 32, 64):
            raise AsmError("byte swap width must be 16, 32 or 64, got %r" % (bits,))
        return self._emit(_Insn(ALU | END | TO_BE, _reg(dst), imm=bits))

    def ldx(self, size, dst, src, off):
        """dst = *(size *)(src + off)"""
        return self._emit(_Insn(LDX | MEM | SIZES[size], _reg(dst), _reg(src), off))

    def stx(self, size, dst, off, src):
        """*(size *)(dst + off) = src"""
        return self._emit(_Insn(STX | MEM | SIZES[size], _reg(dst), _reg(src), off))

    def st(self, size, dst, off, imm):
        """*(size *)(dst + off) = imm"""
        return self._emit(_Insn(ST | MEM | SIZES[size], _reg(dst), 0, off, _imm32(imm)))

    def xadd(self, size, dst, off, src):
        """*(size *)(dst + off) += src, atomically."""
        if size not in (4, 8):
            raise AsmError("atomic add is 4 or 8 bytes, got %r" % (size,))
        return self._emit(_Insn(STX | ATOMIC | SIZES[size], _reg(dst), _reg(src), off, 0))

    def ld_imm64(self, dst, value, src=0):
        """dst = a 64-bit constant (two instruction slots)."""
        value &= (1 << 64) - 1
        self._emit(_Insn(LD | IMM | SIZES[8], _reg(dst), src, 0, _imm32(value & 0xFFFFFFFF)))
        return self._emit(_Insn(0, 0, 0, 0, _imm32(value >> 32)))

    def ld_map_fd(self, dst, fd):
        """dst = the map with file descriptor ``fd`` (the kernel replaces it with the map's address)."""
        return self.ld_imm64(dst, fd, src=PSEUDO_MAP_FD)

    def jump(self, op, dst, src_or_imm, target, wide=True):
        """if dst <op> src goto target (64-bit compare; ``wide=False`` compares the low 32 bits)."""
        cls = JMP if wide else JMP32
        if isinstance(src_or_imm, Reg):
            return self._emit(_Insn(cls | JMP_OPS[op] | X, _reg(dst), src_or_imm.number, label=target))
        return self._emit(_Insn(cls | JMP_OPS[op] | K, _reg(dst), imm=_imm32(src_or_imm), label=target))

    def ja(self, target):
        return self._emit(_Insn(JMP | JMP_OPS["ja"], label=target))

    def call(self, helper):
        return self._emit(_Insn(JMP | JMP_OPS["call"], imm=helper))

    def exit(self):
        return self._emit(_Insn(JMP | JMP_OPS["exit"]))

    def __getattr__(self, name):
        # jeq, jne, jgt, jge, jlt, jle, jset, jsgt, ...: a.jeq(R1, 5, "label")
        if name in JMP_OPS and name not in ("ja", "call", "exit"):
            return lambda dst, src_or_imm, target, wide=True: self.jump(name, dst, src_or_imm, target, wide)
        raise AttributeError(name)

    # -- output
    def __len__(self):
        return len(self.insns)

    def _reachable(self):
        """Which instructions a run can reach from the first (the verifier refuses unreachable ones)."""
        seen = set()
        todo = [0]
        while todo:
            index = todo.pop()
            if index in seen or index >= len(self.insns):
                continue
            seen.add(index)
            insn = self.insns[index]
            if insn.code == LD | IMM | SIZES[8]:
                seen.add(index + 1)  # the second half of ld_imm64
                todo.append(index + 2)
                continue
            if insn.label is not None:
                todo.append(self.labels[insn.label])
            if insn.code not in (JMP | JMP_OPS["ja"], JMP | JMP_OPS["exit"]):
                todo.append(index + 1)
        return seen

    def assemble(self):
        """The program's bytes, every jump resolved from its label; instructions no
        run can reach (code after a jump that nothing jumps past) are left out."""
        for insn in self.insns:
            if insn.label is not None:
                if insn.label not in self.labels:
                    raise AsmError("jump to undefined label %r" % insn.label)
                if self.labels[insn.label] >= len(self.insns):
                    raise AsmError("label %r is at the end of the program, after the last instruction" % insn.label)
        reachable = self._reachable()
        kept = [index for index in range(len(self.insns)) if index in reachable]
        # a label's new place: that of the first kept instruction at or after it
        place, count = {}, 0
        for index in range(len(self.insns) + 1):
            place[index] = count
            if index in reachable:
                count += 1
        labels = {name: place[index] for name, index in self.labels.items()}
        out = []
        for index, insn in enumerate(self.insns[i] for i in kept):
            off = insn.off
            if insn.label is not None:
                off = labels[insn.label] - index - 1
                if not -(1 << 15) <= off < (1 << 15):
                    raise AsmError("jump to %r is %d instructions away: more than 16 bits" % (insn.label, off))
            out.append(struct.pack("<BBhi", insn.code, (insn.src << 4) | insn.dst, off, insn.imm))
        return b"".join(out)
