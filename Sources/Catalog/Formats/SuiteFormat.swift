import Declarations
import Foundation

/// The format of a suite: Testbed's own (`testbed.yaml` files and drop-ins), or a suite this field already has, run as
/// it is (`docs/formats.md`).
///
/// A suite path is recognised by its files (`recognise(_:)`); `--format NAME` forces one.
public enum SuiteFormat: String, Sendable, Hashable, Codable, CaseIterable {
    /// `testbed.yaml` files and executables with `testbed-` headers.
    case testbed
    /// kvm-unit-tests: `ARCH/unittests.cfg` and `run_tests.sh` at the tree's top.
    case kvmUnitTests = "kvm-unit-tests"
    /// autopkgtest (DEP-8): `debian/tests/control` in a source package.
    case autopkgtest
    /// kselftest: an installed kselftest tree, `kselftest-list.txt` at its top.
    case kselftest
    /// meson: a build directory, `meson-info/intro-tests.json` in it.
    case meson

    /// The names as written, for messages and `--help`.
    public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }

    /// The field format whose files `directory` holds at its top, or `.testbed` when none does (a `testbed.yaml` there
    /// always makes it `.testbed`).
    ///
    /// - Parameter directory: a suite root, absolute.
    /// - Returns: the format.
    public static func recognise(_ directory: String) -> SuiteFormat {
        if FileManager.default.fileExists(atPath: directory + "/" + CatalogLoader.declarationFile) { return .testbed }
        for format in allCases where format != .testbed {
            if let decoder = format.decoder, decoder.recognises(directory) { return format }
        }
        return .testbed
    }

    /// What reads a suite of this format; nil for `.testbed` (read file by file by the walker and its decoders).
    var decoder: (any FieldSuiteDecoder)? {
        switch self {
        case .testbed: nil
        case .kvmUnitTests: KVMUnitTestsDecoder()
        case .autopkgtest: AutopkgtestDecoder()
        case .kselftest: KselftestDecoder()
        case .meson: MesonDecoder()
        }
    }
}

/// Reads a whole suite of a field format (kvm-unit-tests, autopkgtest, kselftest, meson) into tests and setups.
protocol FieldSuiteDecoder: Sendable {
    /// Whether `directory` (a suite root, absolute) holds this format's files at its top.
    func recognises(_ directory: String) -> Bool

    /// Reads the suite at `root` into `state`: its tests (ids from the root) and setups, or errors naming file and line.
    ///
    /// - Parameters:
    ///   - root: the suite root, absolute.
    ///   - shownAs: the root as shown to the user (for error locations).
    ///   - state: where tests, setups and errors go.
    func decode(root: String, shownAs: String, state: inout LoadState)
}
