import Declarations
import Foundation

/// A file of a suite: a `testbed.yaml` (`relative` is its directory) or an executable.
struct SuiteFile: Sendable {
    let path: String
    let relative: String
    let isDeclaration: Bool
    var shownAs: String? = nil
    /// Its name is not UTF-8: reported, not loaded.
    var misnamed = false
    /// A directory that cannot be read or searched: why, and the fix (reported, not loaded).
    var unreadable: String? = nil
    /// It could not be read because Testbed was out of file descriptors: the errno (`EMFILE`, `ENFILE`).
    var outOfDescriptors: Int32? = nil
    /// Named on the command line: a test with or without a header.
    var named = false
}

/// Finds what a suite holds: its `testbed.yaml` files and the executables
/// that may be drop-in tests, in a sorted, depth-first walk (see `WalkScope`
/// for what it does not walk into). What each file declares is the formats'
/// business (`Formats/`); the walker only finds them.
struct SuiteWalker {
    /// Sorted, depth-first walk of a suite: in each directory its
    /// `testbed.yaml`, then its executables, then its subdirectories. Hidden
    /// entries, results directories, sub-folders that are suites of their
    /// own and links to directories outside the suite are skipped; each such
    /// link adds a line to `warnings` (see `WalkScope`).
    func walk(_ suite: SuiteRoot, into files: inout [SuiteFile], warnings: inout [String]) {
        var visited: Set<[UInt64]> = []
        let scope = WalkScope(suite: suite)
        walk(directory: suite.path, relative: "", into: &files, visited: &visited, scope: scope, warnings: &warnings)
    }

    /// `visited` holds (device, inode) of every directory walked: a symlink
    /// loop (`loop -> ..`) or a directory linked twice is walked once.
    func walk(directory: String, relative: String, into files: inout [SuiteFile], visited: inout Set<[UInt64]>,
              scope: WalkScope, warnings: inout [String]) {
        var own = stat()
        guard stat(directory, &own) == 0, visited.insert([UInt64(own.st_dev), UInt64(own.st_ino)]).inserted else { return }
        var subdirectories: [(name: String, scope: WalkScope)] = []
        var executables: [SuiteFile] = []
        // A directory that cannot be read would hide its tests without a word.
        func refuse(_ what: String, _ code: Int32) {
            if DeclarationError.isDescriptorShortage(code) {
                files.append(SuiteFile(path: directory, relative: relative, isDeclaration: false, unreadable: "", outOfDescriptors: code))
                return
            }
            files.append(SuiteFile(path: directory, relative: relative, isDeclaration: false, unreadable:
                "is a directory that cannot be \(what) (\(String(cString: strerror(code)))), so the tests in it cannot be "
                + "found; make it readable (chmod a+rx), or move it out of the suite"))
        }
        guard let (entries, misnamed) = Self.entries(of: directory) else {
            refuse("read", errno)
            return
        }
        for name in misnamed where !scope.towardNamed {
            // A test or directory whose name is not UTF-8 cannot get an id: say so rather than skip it.
            let shown = relative.isEmpty ? name : relative + "/" + name
            executables.append(SuiteFile(path: directory + "/" + name, relative: shown, isDeclaration: false, shownAs: nil, misnamed: true))
        }
        for (entry, type) in entries.sorted(by: { $0.name < $1.name }) where !entry.hasPrefix(".") {
            let path = directory + "/" + entry
            var info = stat()
            guard stat(path, &info) == 0 else {
                // A dangling symlink is no test; a directory that can be listed but not searched hides them all.
                var link = stat()
                if errno == EACCES && lstat(path, &link) != 0 && errno == EACCES {
                    refuse("searched", EACCES)
                    return
                }
                continue
            }
            let mode = info.st_mode & S_IFMT
            if mode == S_IFDIR {
                guard !CatalogLoader.skippedDirectories.contains(entry) else { continue }
                let sub = relative.isEmpty ? entry : relative + "/" + entry
                var inner = scope
                if scope.towardNamed {
                    // Outside the suite, only the way to what the command line named.
                    if scope.isNamedOrUnder(sub) { inner.towardNamed = false } else if !scope.leadsToNamed(sub) { continue }
                }
                if Self.isLink(type, path), let target = scope.outsideTarget(of: path, info: info) {
                    // `rootfs -> /`, `procl -> /proc`: never walked, unless a path named on the command line goes through it.
                    if scope.isNamedOrUnder(sub) {
                        inner.towardNamed = false
                    } else if scope.leadsToNamed(sub) {
                        inner.towardNamed = true
                    } else {
                        let shown = CatalogLoader.join(scope.shownRoot, sub).escapingControls
                        warnings.append("\(shown) is a link to \(target.escapingControls), outside the suite; not walked "
                            + "(name its target on the command line to run tests there)")
                        continue
                    }
                    if let real = WalkScope.realPath(path) { inner.inside.append(real) }
                }
                // A sub-folder that is a suite of its own (`root: true`, another git work tree) is not walked.
                if !SuiteRoot.startsSuiteOfItsOwn(path) { subdirectories.append((entry, inner)) }
            } else if scope.towardNamed {
                continue
            } else if entry == CatalogLoader.declarationFile && mode != S_IFREG {
                // A FIFO or device named testbed.yaml is never opened: said, as for an unreadable one.
                files.append(SuiteFile(path: path, relative: relative.isEmpty ? entry : relative + "/" + entry, isDeclaration: false,
                                       unreadable: "is \(Self.fileKind(info.st_mode)), not a regular file; make it a YAML file, or remove it"))
            } else if mode == S_IFREG {
                if entry == CatalogLoader.declarationFile {
                    files.append(SuiteFile(path: path, relative: relative, isDeclaration: true))
                } else if info.st_mode & 0o111 != 0 {
                    executables.append(SuiteFile(path: path, relative: relative.isEmpty ? entry : relative + "/" + entry, isDeclaration: false))
                } else if let warning = Self.headerWithoutExecuteBit(
                    path, name: entry, shown: CatalogLoader.join(scope.shownRoot, relative.isEmpty ? entry : relative + "/" + entry)) {
                    warnings.append(warning)
                }
            }
        }
        files += executables
        for (sub, inner) in subdirectories {
            walk(directory: directory + "/" + sub, relative: relative.isEmpty ? sub : relative + "/" + sub, into: &files,
                 visited: &visited, scope: inner, warnings: &warnings)
        }
    }

    /// The names in a directory with their `d_type` (readdir: FileManager
    /// drops names that are not UTF-8), and, shown lossily, the executables
    /// and directories whose names are not UTF-8.
    /// Nil when the directory cannot be opened (errno says why).
    static func entries(of directory: String) -> (names: [(name: String, type: UInt8)], misnamed: [String])? {
        guard let handle = opendir(directory) else { return nil }
        defer { closedir(handle) }
        var names: [(name: String, type: UInt8)] = []
        var misnamed: [String] = []
        while let entry = readdir(handle) {
            let bytes = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            if let name = String(validating: bytes, as: UTF8.self) {
                if name != "." && name != ".." { names.append((name, entry.pointee.d_type)) }
                continue
            }
            guard bytes.first != UInt8(ascii: ".") else { continue }
            var info = stat()
            let found = bytes.withUnsafeBufferPointer { buffer -> Bool in
                var name = Array(buffer) + [0]
                return name.withUnsafeMutableBufferPointer {
                    fstatat(dirfd(handle), UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), &info, 0) == 0
                }
            }
            let mode = info.st_mode & S_IFMT
            if found && (mode == S_IFDIR || (mode == S_IFREG && info.st_mode & 0o111 != 0)) {
                misnamed.append(String(decoding: bytes, as: UTF8.self))
            }
        }
        return (names, misnamed)
    }

    /// Executables the command line names inside a suite are tests with or
    /// without a header: marked where the walk found them, added where it
    /// did not (a hidden directory, a file that is not executable: loading
    /// then says why it cannot be a test).
    func markNamedExecutables(of suite: SuiteRoot, in files: inout [SuiteFile]) {
        for part in suite.parts {
            guard case .executable(let relative) = part else { continue }
            if let index = files.firstIndex(where: { !$0.isDeclaration && $0.relative == relative }) {
                files[index].named = true
            } else {
                files.append(SuiteFile(path: CatalogLoader.join(suite.path, relative), relative: relative, isDeclaration: false, named: true))
            }
        }
    }

    /// Names of files that may be scripts: read for a `testbed-` header
    /// when they are not executable (no other file is opened: a suite may
    /// hold sources and disk images).
    static let scriptSuffixes = [".sh", ".bash", ".zsh", ".ksh", ".py", ".pl", ".rb", ".tcl", ".exp", ".lua", ".js"]

    /// The warning for a file with a `testbed-` header line but no execute
    /// bit: it is not a test, which would drop it without a word. Only files
    /// named like scripts (`scriptSuffixes`, or without a `.`) are read.
    ///
    /// - Parameters:
    ///   - path: the file's path.
    ///   - name: its name.
    ///   - shown: the path shown in the warning.
    /// - Returns: `FILE:LINE: has a testbed- header but is not executable, …`, or nil.
    static func headerWithoutExecuteBit(_ path: String, name: String, shown: String) -> String? {
        guard !name.contains(".") || scriptSuffixes.contains(where: { name.hasSuffix($0) }),
              case .bytes(let head) = DropInDecoder.readHead(path),
              let line = DropInHeader(bytes: head).lines.first?.line else { return nil }
        return "\(shown.escapingControls):\(line): has a testbed- header but is not executable, so it is not a test; chmod +x it"
    }

    /// What a file that is not a regular file is, for a message.
    static func fileKind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFIFO: "a FIFO"
        case S_IFSOCK: "a socket"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFDIR: "a directory"
        default: "not a regular file"
        }
    }
}
