"""The oldest kernel of the matrix boots here: the Debian 11 image (built from Debian's archive, cached
under build/vm/) comes up in qemu and answers over SSH on its own 5.10 kernel. The full matrix (the agent's
kernel tests inside each VM, the role over SSH, a reboot) is `make test-kernels`; this keeps the harness
itself under `make test`, and fails, naming the console log, where qemu cannot boot a guest.
"""

import vmlab


def test_debian_11_boots_its_own_kernel_and_answers_over_ssh(tmp_path):
    vmlab.down(tmp_path)
    try:
        vmlab.up(tmp_path, ["debian-11"])
        uname = vmlab.ssh(tmp_path, vmlab.GUEST_ADDRESSES["debian-11"], "uname -r").stdout.strip()
        accelerator = (tmp_path / "accelerator").read_text()
    finally:
        vmlab.down(tmp_path)
    assert uname.startswith("5.10."), "the guest runs {0!r}, not Debian 11's 5.10 kernel".format(uname)
    assert accelerator in ("kvm", "tcg")
