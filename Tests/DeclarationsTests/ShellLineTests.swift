@testable import Declarations
import Testing

@Suite("what a shell command line starts")
struct ShellLineTests {
    @Test("simple commands are words; shell syntax, assignments and builtins need the shell", arguments: [
        ("./x86/run x86/msr.flat -smp 1", ["./x86/run", "x86/msr.flat", "-smp", "1"]),
        ("  qemu-img   info disk.qcow2 ", ["qemu-img", "info", "disk.qcow2"]),
        ("qemu-system-x86_64 -machine accel=tcg", ["qemu-system-x86_64", "-machine", "accel=tcg"]),
        ("ACCEL=tcg ./x86/run x.flat", nil),
        ("./run | tee log", nil), ("./run > log", nil), ("echo $HOME", nil), ("'quoted'", nil), ("a && b", nil),
        ("exit 3", nil), ("true", nil), ("cd build", nil), ("./t.sh # comment", nil), ("ls *.flat", nil),
        ("sleep 1\nsleep 2", nil),
    ] as [(String, [String]?)])
    func simple(line: String, words: [String]?) {
        #expect(ShellLine.simpleWords(line) == words)
    }

    @Test("the first command of a shell line, when it can be known", arguments: [
        ("ACCEL=tcg ./x86/run x.flat", "./x86/run", false),
        ("FOO=1 BAR=2 qemu-img info x | tee log", "qemu-img", false),
        ("PATH=/opt/qemu/bin:/usr/bin qemu-img info x", "qemu-img", true),
        ("./configure && make", "./configure", false),
        ("cd build && ./run", nil, false), ("$QEMU -version", nil, false), ("\"./quoted\" x", nil, false),
        ("(cd x; ./run)", nil, false), ("exec ./run", nil, false), ("X=$(pwd) ./run", nil, false),
        ("modprobe vhost_net || true; ./run", nil, false), ("./run x | tee log || exit 77", "./run", false),
        ("g() { true; }; g", nil, false), ("check_kvm () { test -e /dev/kvm; }; check_kvm", nil, false),
    ] as [(String, String?, Bool)])
    func firstCommand(line: String, word: String?, pathReassigned: Bool) {
        let found = ShellLine.firstCommand(line)
        #expect(found.map { String($0.word) } == word)
        if word != nil { #expect(found?.pathReassigned == pathReassigned) }
    }
}
