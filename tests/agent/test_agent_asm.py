"""The eBPF assembler (pure): exact bytes of known programs, labels resolved, bad input refused."""

import pytest
from traffic_mirror_agent import asm
from traffic_mirror_agent import bpf
from traffic_mirror_agent.asm import R0
from traffic_mirror_agent.asm import R1
from traffic_mirror_agent.asm import R2
from traffic_mirror_agent.asm import R6
from traffic_mirror_agent.asm import R10

# The truncation program for 128 bytes as it was hand-encoded before the
# assembler existed: its trimming loop (the first ten instructions) must stay
# as the kernel has been running it. The loop now ends at the limit (jle 320,
# 128 + MAX_EXTRA, inclusive) where it used to fall through and send the copy
# whole (jlt 320); after it the program counts the copy in its map and drops it.
TRUNCATE_128_LOOP = "".join((
    "bf16000000000000", "6167000000000000", "b708000080000000", "bd87170000000000",
    "bf61000000000000", "bf82000000000000", "b703000000000000", "8500000026000000",
    "1500120000000000", "0708000001000000",
))  # fmt: skip
# the loop's jump offsets (to "out") moved: 0x07 -> 0x17 and 0x02 -> 0x12, over the counting below
TRUNCATE_128_END = "".join((
    "b508f8ff40010000",  # jle r8, 320, try
    "620af8ff00000000", "1811000000000000", "0000000000000000", "bfa2000000000000", "07020000f8ffffff",
    "8500000001000000",  # map_lookup_elem(map, &slot 0)
    "1500070000000000", "7901000000000000", "0701000001000000", "7b10000000000000",  # packets += 1
    "6162000000000000", "7901080000000000", "0f21000000000000", "7b10080000000000",  # bytes += skb->len
    "b700000002000000", "9500000000000000",  # TC_ACT_SHOT: this copy is dropped
    "b700000000000000", "9500000000000000",  # out: TC_ACT_OK
))  # fmt: skip


def test_truncation_program_bytes_unchanged():
    assert bpf.program(128).hex() == TRUNCATE_128_LOOP + TRUNCATE_128_END


def test_each_instruction_encoding():
    a = asm.Program()
    a.mov(R6, R1)  # bf 16
    a.mov(R0, -1)  # b7 00 imm ffffffff
    a.ldx(2, R2, R6, 12)  # 69 62 off 12
    a.stx(8, R10, -8, R2)  # 7b 2a off -8
    a.st(4, R10, -16, 7)  # 62 0a off -16 imm 7
    a.be(R2, 16)  # dc 02 imm 16
    a.alu32("and", R2, 0x1FFF)  # 54 02
    a.xadd(8, R0, 0, R1)  # db 10 imm 0 (BPF_ADD)
    a.ld_map_fd(R1, 5)  # 18 11 imm 5, then the upper half
    a.call(13)
    a.exit()
    assert a.assemble().hex() == (
        "bf16000000000000" "b7000000ffffffff" "69620c0000000000" "7b2af8ff00000000"
        "620af0ff07000000" "dc02000010000000" "54020000ff1f0000" "db10000000000000"
        "1811000005000000" "0000000000000000" "850000000d000000" "9500000000000000"
    )  # fmt: skip


def test_jumps_resolved_from_labels_forward_and_back():
    a = asm.Program()
    a.label("top")
    a.jeq(R1, 17, "end")  # +3: over the jne, the ld_imm64 (2 slots)
    a.jne(R1, R2, "top")  # -2
    a.ld_imm64(R0, 1 << 40)
    a.label("end")
    a.ja("top")  # -5
    code = a.assemble()
    offsets = [int.from_bytes(code[i + 2 : i + 4], "little", signed=True) for i in range(0, len(code), 8)]
    assert offsets == [3, -2, 0, 0, -5]
    assert code[8:10].hex() == "5d21"  # jne r1, r2: register source


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda a: a.ja("nowhere").exit(), "undefined label 'nowhere'"),
        (lambda a: a.label("x").label("x"), "label 'x' defined twice"),
        (lambda a: a.mov(R0, 1 << 33), "does not fit 32 bits"),
        (lambda a: a.mov(0, 1), "expected a register"),
        (lambda a: a.be(R0, 8), "16, 32 or 64"),
        (lambda a: a.exit().ja("end").label("end"), "at the end of the program"),
    ],
)
def test_bad_programs_refused(build, message):
    with pytest.raises(asm.AsmError, match=message.replace("(", r"\(")):
        build(asm.Program()).assemble()


def test_jump_too_far_refused():
    a = asm.Program()
    a.jeq(R1, 0, "far")  # conditional: the filler is reachable, so it stays
    for _filler in range(1 << 15):
        a.mov(R0, 0)
    a.label("far")
    a.exit()
    with pytest.raises(asm.AsmError, match="more than 16 bits"):
        a.assemble()


def test_unreachable_instructions_are_left_out():
    """The verifier refuses a program with an instruction no run reaches ("unreachable insn"):
    code after an unconditional jump that nothing jumps to is dropped, labels follow."""
    a = asm.Program()
    a.jeq(R1, 0, "out")
    a.ja("out")
    a.mov(R0, 7)  # dead
    a.ld_imm64(R2, 1)  # dead, two slots
    a.label("dead_label")  # nothing jumps here
    a.mov(R0, 8)  # dead
    a.label("out")
    a.mov(R0, 0).exit()
    code = a.assemble()
    assert len(code) == 4 * 8
    offsets = [int.from_bytes(code[i + 2 : i + 4], "little", signed=True) for i in range(0, len(code), 8)]
    assert offsets == [1, 0, 0, 0]
    assert code[16:24] == asm.Program().mov(R0, 0).assemble()


def test_big_endian_host_refused_before_loading(monkeypatch):
    from traffic_mirror_agent import syscalls

    monkeypatch.setattr(syscalls.sys, "byteorder", "big")
    with pytest.raises(syscalls.BpfError, match="needs a little-endian host; this one is big-endian"):
        bpf.load_code(bpf.program(64), "tma_t64")
