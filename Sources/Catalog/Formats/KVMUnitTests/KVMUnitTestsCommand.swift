import Foundation

/// The command line of one kvm-unit-tests test, as `scripts/runtime.bash`'s `run()` builds and runs it: a bash script
/// run in the tree's top directory.
///
/// In order: `disabled_if` (true: exit 77 "disabled because: …", with `config.mak`'s variables set, as the runner
/// evaluates it); the image missing (exit 77); the runner started on a file that does not exist, as `run()` does to
/// find a QEMU that refuses the command line (an option TCG lacks): unless QEMU got as far as loading the kernel,
/// its output is printed and the test skips with it (exit 77, QEMU's message its last line); then
/// `TESTNAME=… TIMEOUT=… MACHINE=… ACCEL=… ./ARCH/run IMAGE -smp N [-append ARGS] PARAMS` (with `MIGRATION=yes` for the
/// `migration` group, `PANIC=yes` for `panic`), whose exit status is the verdict: 0 pass, 77 skip, anything else a
/// failure (124 the tree's own timeout, 127 the guest's `abort()`). The values of the section are pasted as written:
/// the runner `eval`s them, and so does bash here.
struct KVMUnitTestsCommand {
    let section: UnitTestSection
    /// The image, relative to the tree (`x86/apic.flat`).
    let kernel: String
    /// The architecture's runner, relative to the tree (`./x86/run`).
    let runner: String
    /// The section's `accel`, the default of `ACCEL`.
    let accel: String?
    /// The section's timeout (or kvm-unit-tests' default), the default of `TIMEOUT`.
    let timeout: String

    /// The script's lines.
    var script: [String] {
        var lines: [String] = []
        lines.append(": \"${MAX_SMP:=$(getconf _NPROCESSORS_ONLN)}\"")
        lines.append("ACCEL=\"${ACCEL:-\(accel ?? "")}\"; MACHINE=\"${MACHINE:-\(section.machine ?? "")}\"; TIMEOUT=\"${TIMEOUT:-\(timeout)}\"")
        if let condition = section.disabledIf, !condition.isEmpty {
            lines.append("if (. ./config.mak; eval \(Self.quoted(condition))); then echo \(Self.quoted("disabled because: " + condition)); exit 77; fi")
        }
        lines.append("if [ ! -f \(Self.quoted(kernel)) ]; then echo \(Self.quoted("Test file '\(kernel)' not found")); exit 77; fi")
        let environment = "TESTNAME=\(Self.quoted(section.name)) TIMEOUT=\"$TIMEOUT\" MACHINE=\"$MACHINE\" ACCEL=\"$ACCEL\""
        var arguments = "-smp \(section.smp ?? "1")"
        if let testArguments = section.testArguments { arguments += " -append \(testArguments)" }
        if let parameters = section.parameters { arguments += " \(parameters)" }
        lines.append("log=$(\(environment) \(runner) _NO_FILE_4Uhere_ \(arguments) 2>&1)")
        lines.append("if ! grep _NO_FILE_4Uhere_ <<<\"$log\" | grep -q -e '[Cc]ould not \\(load\\|open\\) kernel' -e 'error loading'"
            + " -e 'failed to load'; then printf '%s\\n' \"$log\"; exit 77; fi")
        var prefix = ""
        if section.groups.contains("migration") { prefix += "MIGRATION=yes " }
        if section.groups.contains("panic") { prefix += "PANIC=yes " }
        lines.append("\(prefix)\(environment) \(runner) \(Self.quoted(kernel)) \(arguments)")
        return lines
    }

    /// The test's shell line: `bash -c 'SCRIPT'`.
    var line: String {
        "bash -c " + Self.quoted(script.joined(separator: "\n"))
    }

    /// `text` in single quotes, each `'` written `'\''`.
    static func quoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
