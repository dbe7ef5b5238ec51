import Declarations
import Foundation
import HostFacts
import Requirements

/// What the walk of a suite knows beyond the directory at hand: where the
/// suite is, and what the command line named in it.
///
/// A symbolic link to a directory whose target lies outside the suite
/// (`rootfs -> /`, `procl -> /proc`, `sysroot -> /tmp/sdk`, common in kernel
/// trees) is not walked: tests found through it are not the suite's, and
/// walking `/` or `/proc` would load every suite on the machine. The walk
/// warns once per such link. Links whose targets lie inside the suite are
/// walked as directories (each directory once). A path the command line
/// names through such a link is the user's: the link is followed, toward
/// that path only, and inside the named part links into the link's target
/// count as inside.
///
/// Only links are resolved (`realpath`), never plain directories: the walk
/// of a suite of 100,000 tests costs no more.
struct WalkScope: Sendable {
    /// Real paths (links resolved) of the trees a link may point into and
    /// still be walked: the suite's root, and the target of a link the
    /// command line named a path through.
    var inside: [String]
    /// Paths relative to the suite's root that the command line names:
    /// directories, directories of `testbed.yaml` files, executables.
    let named: [String]
    /// The suite's root as shown.
    let shownRoot: String
    /// Past a link outside the suite, above the paths the command line names
    /// through it: the walk only goes toward them and loads nothing on the way.
    var towardNamed = false

    init(suite: SuiteRoot) {
        inside = [Self.realPath(suite.path) ?? suite.path]
        shownRoot = suite.shown
        named = suite.parts.compactMap { part in
            switch part {
            case .whole: nil
            case .directory(let idPrefix): String(idPrefix.dropFirst())
            case .declarations(let directory): directory.isEmpty ? nil : directory
            case .executable(let relative): relative
            }
        }
    }

    /// Whether `relative` (from the root) is a named path or lies under one.
    func isNamedOrUnder(_ relative: String) -> Bool {
        named.contains { relative == $0 || relative.hasPrefix($0 + "/") }
    }

    /// Whether a named path lies under `relative`.
    func leadsToNamed(_ relative: String) -> Bool {
        named.contains { $0.hasPrefix(relative + "/") }
    }

    /// Where a link to a directory points, when that is outside the trees of
    /// `inside`: its real path, or what the link says when no path leads to
    /// the directory it reaches (a `/proc/PID/cwd` of a directory since
    /// deleted, or in another mount namespace), which is taken as outside.
    /// Nil when inside. `info` is the `stat` of `path`.
    func outsideTarget(of path: String, info: stat) -> String? {
        guard let real = Self.realPath(path) else { return Self.linkText(path) }
        var resolved = stat()
        guard stat(real, &resolved) == 0, resolved.st_dev == info.st_dev, resolved.st_ino == info.st_ino else {
            return Self.linkText(path)
        }
        let isInside = inside.contains { root in real == root || real.hasPrefix(root == "/" ? "/" : root + "/") }
        return isInside ? nil : real
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// What a link says, or `?` when it cannot be read.
    static func linkText(_ path: String) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count >= 0 else { return "?" }
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension SuiteWalker {
    /// Whether a directory entry is a symbolic link: its `d_type`, or, where
    /// the file system does not fill that in, `lstat`.
    static func isLink(_ type: UInt8, _ path: String) -> Bool {
        if type == UInt8(DT_LNK) { return true }
        guard type == UInt8(DT_UNKNOWN) else { return false }
        var info = stat()
        return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFLNK
    }
}
