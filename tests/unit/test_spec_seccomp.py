"""Docker's default seccomp profile as data, resolved per capabilities, architecture and kernel."""

import pytest

from tug.errors import Invalid
from tug.oci.image_config import ImageConfig
from tug.spec.generate import generate
from tug.spec.host import HostFacts
from tug.spec.options import RunOptions
from tug.spec.seccomp import allowed, default_profile, resolve_profile
from tug.spec.security import DEFAULT_CAPS

IMAGE = ImageConfig({"config": {"Cmd": ["sh"]}})
CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET = 0x00020000, 0x10000000, 0x40000000
SIGCHLD = 17
AF_INET, AF_VSOCK, AF_NETLINK = 2, 40, 16


def seccomp(caps=DEFAULT_CAPS, kernel="6.1.0-18-amd64", arch="amd64"):
    return resolve_profile(default_profile(), list(caps), arch, kernel)


def spec_seccomp(kernel="6.1.0", **opts):
    h = HostFacts(container_id="x" * 64, rootfs="rootfs", hostname_default="x" * 12, container_dir="/c",
                  kernel_release=kernel)
    return generate(IMAGE, RunOptions(**opts), h)["linux"].get("seccomp")


BLOCKED = ["mount", "umount2", "unshare", "setns", "keyctl", "add_key", "request_key", "kexec_load", "init_module",
           "finit_module", "delete_module", "reboot", "swapon", "swapoff", "pivot_root", "open_by_handle_at", "bpf",
           "perf_event_open", "acct", "settimeofday", "clock_settime", "iopl", "ioperm", "userfaultfd", "vhangup",
           "lookup_dcookie", "fsopen", "open_tree", "move_mount", "sethostname", "setdomainname", "syslog", "quotactl",
           "kcmp", "pidfd_getfd", "umount", "nfsservctl", "create_module", "uselib", "io_uring_setup"]
ALLOWED = ["read", "write", "openat", "close", "execve", "execveat", "futex", "mmap", "mprotect", "brk", "exit_group",
           "wait4", "kill", "getpid", "fork", "vfork", "chroot", "setuid", "chown", "mknod", "arch_prctl", "modify_ldt",
           "rt_sigaction", "epoll_wait", "io_setup", "pidfd_open", "seccomp", "prctl", "capset", "socketpair",
           "clock_gettime", "statx", "close_range", "openat2", "faccessat2"]


def test_default_action_and_arches():
    s = seccomp()
    assert s["defaultAction"] == "SCMP_ACT_ERRNO" and s["defaultErrnoRet"] == 1
    assert s["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    assert seccomp(arch="arm64")["architectures"] == ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
    for rule in s["syscalls"]:
        assert set(rule) <= {"names", "action", "errnoRet", "args"}  # Docker-only keys are resolved away


@pytest.mark.parametrize("name", BLOCKED)
def test_blocked_by_default(name):
    assert not allowed(seccomp(), name)


@pytest.mark.parametrize("name", ALLOWED)
def test_allowed_by_default(name):
    assert allowed(seccomp(), name)


def test_clone_allowed_only_without_namespace_flags():
    s = seccomp()
    assert allowed(s, "clone", SIGCHLD)
    assert allowed(s, "clone", 0x003D0F00 | SIGCHLD)  # pthread_create's flags
    for flag in (CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET):
        assert not allowed(s, "clone", flag | SIGCHLD)


def test_clone3_answers_enosys_unless_sys_admin():
    rule = [r for r in seccomp()["syscalls"] if "clone3" in r["names"]]
    assert rule == [{"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]
    s = seccomp([*DEFAULT_CAPS, "CAP_SYS_ADMIN"])
    assert allowed(s, "clone3") and allowed(s, "clone", CLONE_NEWNS) and allowed(s, "mount")
    assert not any(r["action"] == "SCMP_ACT_ERRNO" for r in s["syscalls"])


def test_socket_families():
    s = seccomp()
    assert allowed(s, "socket", AF_INET) and allowed(s, "socket", AF_NETLINK)
    assert not allowed(s, "socket", AF_VSOCK)


def test_personality():
    s = seccomp()
    assert allowed(s, "personality", 0) and allowed(s, "personality", 0xFFFFFFFF)
    assert not allowed(s, "personality", 0x0400000)  # READ_IMPLIES_EXEC


@pytest.mark.parametrize("cap,names", [
    ("CAP_SYS_MODULE", ["init_module", "finit_module", "delete_module"]), ("CAP_SYS_BOOT", ["reboot"]),
    ("CAP_SYS_TIME", ["settimeofday", "clock_settime"]), ("CAP_SYS_RAWIO", ["iopl", "ioperm"]),
    ("CAP_SYS_PTRACE", ["ptrace", "kcmp", "process_vm_readv"]), ("CAP_DAC_READ_SEARCH", ["open_by_handle_at"]),
    ("CAP_SYS_PACCT", ["acct"]), ("CAP_BPF", ["bpf"]), ("CAP_PERFMON", ["perf_event_open"]),
    ("CAP_SYSLOG", ["syslog"]), ("CAP_SYS_NICE", ["mbind"]),
])
def test_capability_conditional_syscalls(cap, names):
    with_cap = seccomp([*DEFAULT_CAPS, cap])
    for n in names:
        assert allowed(with_cap, n)


def test_never_allowed_even_with_caps():
    s = seccomp([*DEFAULT_CAPS, "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_MODULE"])
    for n in ("keyctl", "add_key", "kexec_load", "swapon", "pivot_root", "userfaultfd"):
        assert not allowed(s, n)


def test_dropping_chroot_drops_the_syscall():
    assert not allowed(seccomp([c for c in DEFAULT_CAPS if c != "CAP_SYS_CHROOT"]), "chroot")


def test_ptrace_depends_on_kernel_as_docker():
    # docker's profile allows ptrace without CAP_SYS_PTRACE on kernels >= 4.8 (the seccomp bypass was fixed there)
    assert allowed(seccomp(kernel="5.10.0"), "ptrace")
    assert allowed(seccomp(kernel="4.8"), "process_vm_readv")
    assert not allowed(seccomp(kernel="4.4.0"), "ptrace")
    assert not allowed(seccomp(kernel="3.10.0"), "process_vm_writev")
    assert not allowed(seccomp(kernel=""), "ptrace")  # unknown kernel: conservative
    assert allowed(seccomp([*DEFAULT_CAPS, "CAP_SYS_PTRACE"], kernel="4.4.0"), "ptrace")


def test_arch_specific_rules():
    assert not allowed(seccomp(arch="arm64"), "arch_prctl")
    assert allowed(seccomp(arch="s390x"), "s390_runtime_instr")
    s390 = seccomp(arch="s390x")
    clone_rules = [r for r in s390["syscalls"] if r["names"] == ["clone"]]
    assert clone_rules[0]["args"][0]["index"] == 1  # s390 puts the flags in the second argument


def test_in_generated_spec_follows_cap_add():
    assert not allowed(spec_seccomp(), "mount")
    assert allowed(spec_seccomp(cap_add=["SYS_ADMIN"]), "mount")
    assert spec_seccomp(privileged=True) is None


def test_custom_profile_rules():
    prof = {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"name": "read", "action": "SCMP_ACT_ALLOW"},
                         {"names": ["write"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}}]}
    out = resolve_profile(prof, list(DEFAULT_CAPS), "amd64", "6.1")
    assert out == {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
                   "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}
    assert resolve_profile({}, [], "amd64", "6.1") is None
    with pytest.raises(Invalid, match="both 'architectures' and 'archMap'"):
        resolve_profile({**prof, "archMap": [{}]}, [], "amd64", "6.1")
    with pytest.raises(Invalid, match="both 'name' and 'names'"):
        resolve_profile({"defaultAction": "SCMP_ACT_ALLOW",
                         "syscalls": [{"name": "a", "names": ["b"], "action": "SCMP_ACT_ALLOW"}]}, [], "amd64", "6.1")
