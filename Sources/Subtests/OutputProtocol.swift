/// How a test's output reports its subtests, as the test declares it (`protocol:` in `testbed.yaml`,
/// `testbed-protocol:` in a drop-in header) or its suite format sets it.
///
/// The test's verdict is still its exit status; a protocol adds the subtests its output names.
/// Sources: TAP 13 (testanything.org/tap-version-13-specification.html), TAP 14
/// (testanything.org/tap-version-14-specification.html), KTAP (the kernel's Documentation/dev-tools/ktap.rst),
/// kvm-unit-tests' `report()` lines (`PASS: name`, `FAIL: name`, `SKIP: name (reason)`), meson's protocols
/// (mesonbuild.com/Unit-tests.html: `exitcode`, `tap`, `gtest`).
public enum OutputProtocol: String, Sendable, Hashable, Codable, CaseIterable {
    /// Only the exit status counts; no subtests (the default).
    case exitcode
    /// TAP 13 or 14: `ok N - name`, `not ok N - name # SKIP reason`, indented subtests in TAP 14.
    case tap
    /// KTAP, the kernel's TAP (kselftest, KUnit): nested levels by indentation.
    case ktap
    /// kvm-unit-tests' report lines: `PASS: …`, `FAIL: …`, `XFAIL: …`, `XPASS: …`, `SKIP: …`.
    case kvmUnitTests = "kvm-unit-tests"
    /// GoogleTest's console output: `[ RUN      ] Suite.Name`, `[       OK ]`, `[  FAILED  ]`, `[  SKIPPED ]`.
    case gtest

    /// The names as written, for messages: `exitcode, tap, ktap, kvm-unit-tests, gtest`.
    public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
