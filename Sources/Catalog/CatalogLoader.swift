import Declarations
import Foundation
import HostFacts
import Requirements
import Synchronization

/// Loads suites: `testbed.yaml` files anywhere in a directory tree, drop-in
/// executables with `testbed-KEY:` headers, and executables named outright.
///
/// Every problem found is collected, so one run of `testbed check` lists all
/// of them, each with file and line.
public struct CatalogLoader: Sendable {
    /// The name of declaration files.
    public static let declarationFile = "testbed.yaml"
    /// Directories never searched for tests.
    public static let skippedDirectories: Set<String> = ["testbed-results", "node_modules"]

    public init() {}

    /// Loads every path: each is looked up to its suite root (`SuitePaths`),
    /// every suite is loaded whole, and the tests the paths name are kept.
    public func load(_ paths: [String]) async throws(CatalogError) -> Catalog {
        try await load(SuitePaths(paths))
    }

    /// Loads each suite whole (its setups are all there), keeping the tests
    /// its named parts select, and the standalone executables.
    ///
    /// Files are read concurrently, one worker per core; results are
    /// merged back in tree order, so ids and errors come out in the same order
    /// every time.
    public func load(_ paths: SuitePaths) async throws(CatalogError) -> Catalog {
        var units: [Unit] = paths.missing.map { .missing($0) }
        var warnings: [String] = []
        for (index, suite) in paths.suites.enumerated() {
            var files: [SuiteFile] = []
            walk(suite, into: &files, warnings: &warnings)
            markNamedExecutables(of: suite, in: &files)
            units += files.map { .suiteFile($0, root: suite.shown, suite: index) }
        }
        units += paths.executables.map { .executable($0) }
        // One worker per core takes the next file as it finishes one, so
        // no core idles while another still has a queue of files. Each
        // worker keeps its own caches (equal requirement lists parsed once).
        // Workers also hash the ids, so the duplicate check after them is cheap.
        typealias Loaded = (tests: [TestDefinition], idHashes: [Int], setups: [SetupDefinition], errors: [DeclarationError])
        let next = UnitCounter()
        let allUnits = units
        let workers = max(1, min(units.count, ProcessInfo.processInfo.activeProcessorCount))
        typealias Worker = (loaded: [(Int, Loaded)], factNames: Set<String>, relativePrograms: Int)
        var factNames: Set<String> = []
        var relativePrograms = 0
        let results = await withTaskGroup(of: Worker.self) { group in
            for _ in 0..<workers {
                group.addTask {
                    var state = LoadState()
                    var loaded: [(Int, Loaded)] = []
                    while true {
                        let index = next.value.add(1, ordering: .relaxed).oldValue
                        guard index < allUnits.count else { break }
                        self.load(allUnits[index], state: &state)
                        loaded.append((index, (state.tests, state.tests.map(\.id.hashValue), state.setups, state.errors)))
                        state.tests = []
                        state.setups = []
                        state.errors = []
                    }
                    return (loaded, state.requirements.factNames, state.relativePrograms)
                }
            }
            var results = [Loaded?](repeating: nil, count: units.count)
            for await worker in group {
                for (index, unit) in worker.loaded { results[index] = unit }
                factNames.formUnion(worker.factNames)
                relativePrograms += worker.relativePrograms
            }
            return results
        }
        var state = LoadState()
        var idHashes: [Int] = []
        // Whether the paths named each test of `state.tests`.
        var selected: [Bool] = []
        for (index, result) in results.enumerated() {
            guard let result else { continue }
            state.tests += result.tests
            idHashes += result.idHashes
            state.setups += result.setups
            state.errors += result.errors
            if case let .suiteFile(file, _, suite) = allUnits[index], !paths.suites[suite].isWhole {
                selected += result.tests.map { Self.isNamed($0, from: file, by: paths.suites[suite]) }
            } else {
                selected += repeatElement(true, count: result.tests.count)
            }
        }
        // Duplicates and setup references are checked over the whole suite, named or not.
        state.checkDuplicates(idHashes: idHashes)
        state.checkSetupReferences()
        if !state.errors.isEmpty { throw CatalogError(state.errors, warnings: warnings) }
        let tests = selected.allSatisfy { $0 } ? state.tests : zip(state.tests, selected).compactMap { $1 ? $0 : nil }
        return Catalog(tests: tests, setups: state.setups, roots: paths.suites.map(\.path) + paths.executables,
                       factNames: factNames, relativePrograms: relativePrograms, warnings: warnings)
    }

    /// Whether a part of the suite the command line named selects a test
    /// loaded from `file`.
    static func isNamed(_ test: TestDefinition, from file: SuiteFile, by suite: SuiteRoot) -> Bool {
        suite.parts.contains { part in
            switch part {
            case .whole: true
            case .directory(let prefix): test.id == prefix || test.id.hasPrefix(prefix + "/")
            case .declarations(let directory): file.isDeclaration && file.relative == directory
            case .executable(let relative): !file.isDeclaration && file.relative == relative
            }
        }
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
                files.append(SuiteFile(path: Self.join(suite.path, relative), relative: relative, isDeclaration: false, named: true))
            }
        }
    }

    /// The next unit to load, shared by the workers.
    final class UnitCounter: Sendable {
        let value = Atomic<Int>(0)
    }

    /// One thing to read.
    enum Unit: Sendable {
        case missing(String)
        /// A standalone executable, as named.
        case executable(String)
        /// A file of suite number `suite`; `root` is the suite's root as shown.
        case suiteFile(SuiteFile, root: String, suite: Int)
    }

    func load(_ unit: Unit, state: inout LoadState) {
        switch unit {
        case .missing(let path):
            state.errors.append(DeclarationError(file: path, line: nil,
                message: "no such file or directory; name a suite directory or an executable test"))
        case .executable(let path):
            var id = path
            while id.hasPrefix("./") { id = String(id.dropFirst(2)) }
            if !id.hasPrefix("/") { id = "/" + id }
            loadExecutable(path, shownAs: path, id: id, state: &state)
        case let .suiteFile(file, root, _):
            if file.misnamed {
                state.errors.append(DeclarationError(file: Self.join(root, file.relative), line: nil, message:
                    "the name is not valid UTF-8, so it cannot become a test id; rename it"))
            } else if let code = file.outOfDescriptors {
                state.errors.append(.outOfDescriptors(file: file.relative.isEmpty ? root : Self.join(root, file.relative), errno: code))
            } else if let problem = file.unreadable {
                state.errors.append(DeclarationError(file: file.relative.isEmpty ? root : Self.join(root, file.relative),
                                                     line: nil, message: problem))
            } else if file.named {
                loadExecutable(file.path, shownAs: Self.join(root, file.relative), id: "/" + file.relative, state: &state)
            } else if file.isDeclaration {
                let shown = file.shownAs ?? Self.join(root, file.relative.isEmpty ? Self.declarationFile : file.relative + "/" + Self.declarationFile)
                loadDeclarationFile(file.path, shownAs: shown, suiteRoot: root, relativeDirectory: file.relative, state: &state)
            } else {
                loadDropIn(file.path, shownAs: Self.join(root, file.relative), id: "/" + file.relative, state: &state)
            }
        }
    }

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
                guard !Self.skippedDirectories.contains(entry) else { continue }
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
                        warnings.append("\(Self.join(scope.shownRoot, sub).escapingControls) is a link to \(target.escapingControls), outside the suite; not walked "
                            + "(name its target on the command line to run tests there)")
                        continue
                    }
                    if let real = WalkScope.realPath(path) { inner.inside.append(real) }
                }
                // A sub-folder that is a suite of its own (`root: true`, another git work tree) is not walked.
                if !SuiteRoot.startsSuiteOfItsOwn(path) { subdirectories.append((entry, inner)) }
            } else if scope.towardNamed {
                continue
            } else if entry == Self.declarationFile && mode != S_IFREG {
                // A FIFO or device named testbed.yaml is never opened: said, as for an unreadable one.
                files.append(SuiteFile(path: path, relative: relative.isEmpty ? entry : relative + "/" + entry, isDeclaration: false,
                                       unreadable: "is \(Self.fileKind(info.st_mode)), not a regular file; make it a YAML file, or remove it"))
            } else if mode == S_IFREG {
                if entry == Self.declarationFile {
                    files.append(SuiteFile(path: path, relative: relative, isDeclaration: true))
                } else if info.st_mode & 0o111 != 0 {
                    executables.append(SuiteFile(path: path, relative: relative.isEmpty ? entry : relative + "/" + entry, isDeclaration: false))
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

    static func join(_ root: String, _ relative: String) -> String {
        if root == "." { return relative }
        return root.hasSuffix("/") ? root + relative : root + "/" + relative
    }

    // MARK: - Executables

    func loadDropIn(_ path: String, shownAs: String, id: String, state: inout LoadState) {
        switch Self.readHead(path) {
        case .bytes(let head):
            let header = DropInHeader(bytes: head)
            guard !header.isEmpty || header.cutLine != nil else { return }
            buildDropIn(path: path, shownAs: shownAs, id: id, header: header, state: &state)
        case .unreadable(let code) where DeclarationError.isDescriptorShortage(code):
            state.errors.append(.outOfDescriptors(file: shownAs, errno: code))
        case .unreadable(let code):
            // An executable whose header cannot be read may be a test: say so rather than drop it.
            state.errors.append(DeclarationError(file: shownAs, line: nil, message:
                "is executable but cannot be read (\(String(cString: strerror(code)))), so whether it is a test cannot be "
                + "told; make it readable (chmod a+r), or move it out of the suite"))
        case .notRegular:
            // Swapped for a FIFO or a device since the walk saw a file: not a test, and never opened blocking.
            return
        }
    }

    /// The first bytes of a file, for its header.
    enum Head {
        case bytes([UInt8])
        /// open or fstat failed with this errno.
        case unreadable(Int32)
        /// Not a regular file: `a FIFO`, `a socket`, `a character device`…
        case notRegular(String)
    }

    /// Reads up to `DropInHeader.scanLimit + lookahead` bytes of a regular
    /// file. Opened with O_NONBLOCK and checked with fstat before any read: a
    /// FIFO (or one swapped in for the file) never blocks the loader.
    static func readHead(_ path: String) -> Head {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else {
            // A Unix socket cannot be opened at all (ENXIO): not a test, whatever its mode bits say.
            let code = errno
            var info = stat()
            if stat(path, &info) == 0, info.st_mode & S_IFMT != S_IFREG { return .notRegular(fileKind(info.st_mode)) }
            return .unreadable(code)
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .unreadable(errno) }
        guard info.st_mode & S_IFMT == S_IFREG else { return .notRegular(fileKind(info.st_mode)) }
        var head = [UInt8](repeating: 0, count: DropInHeader.scanLimit + DropInHeader.lookahead)
        var count = 0
        while count < head.count {
            let got = head.withUnsafeMutableBytes { read(fd, $0.baseAddress! + count, $0.count - count) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { break }
            count += got
        }
        head.removeLast(head.count - count)
        return .bytes(head)
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

    /// An executable named on the command line: a test as it stands.
    func loadExecutable(_ path: String, shownAs: String, id: String, state: inout LoadState) {
        let head = Self.readHead(path)
        if case .unreadable(let code) = head, DeclarationError.isDescriptorShortage(code) {
            // Its header unread, it would run without its requirements.
            state.errors.append(.outOfDescriptors(file: shownAs, errno: code))
            return
        }
        if case .notRegular(let kind) = head {
            state.errors.append(DeclarationError(file: shownAs, line: nil, message:
                "is \(kind), not a regular file, so it cannot run as a test; name an executable file, a suite directory or a testbed.yaml"))
            return
        }
        guard access(path, X_OK) == 0 else {
            state.errors.append(DeclarationError(file: shownAs, line: nil, message: access(path, F_OK) == 0
                ? "is not executable, so it cannot run as a test; chmod +x it, or name a suite directory or a testbed.yaml"
                : "no such file or directory; name a suite directory or an executable test"))
            return
        }
        // One that cannot be read (mode 0111) runs without a header.
        let bytes = if case .bytes(let bytes) = head { bytes } else { [UInt8]() }
        buildDropIn(path: path, shownAs: shownAs, id: id, header: DropInHeader(bytes: bytes), state: &state)
    }

    func buildDropIn(path: String, shownAs: String, id: String, header: DropInHeader, state: inout LoadState) {
        // The directory is standardized once per directory, not per file.
        let slash = path.lastIndex(of: "/")
        let directory = state.standardized(slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? ".")
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let executable = directory == "/" ? "/" + name : directory + "/" + name
        if let cut = header.cutLine {
            // Read cut, `kernel >= 60` would be `kernel >= 6`: the test would run where it must not.
            state.errors.append(DeclarationError(file: shownAs, line: cut, message:
                "the header line `\(header.cutKey ?? "testbed-")` does not end within the first \(DropInHeader.scanLimit) bytes, "
                + "all that is read of a file for its header, so it would be read cut; move the testbed- lines to the top "
                + "of the file, or shorten this one"))
            return
        }
        var fields = TestFields(location: DeclarationLocation(file: shownAs, line: header.lines.first?.line))
        for line in header.lines {
            let location = DeclarationLocation(file: shownAs, line: line.line)
            if !line.isCanonical && DropInHeader.keys.contains(line.key) {
                // Ignored, it would drop the test or its requirements without a word.
                state.errors.append(location.error("header key \"\(line.written)\" is written in another case or with _, "
                    + "so it would be ignored; write it testbed-\(line.key):"))
                continue
            }
            guard DropInHeader.keys.contains(line.key) else {
                var message = "unknown header key \"\(line.written)\""
                if let guess = closest(to: line.key, in: DropInHeader.keys) { message += "; did you mean \"testbed-\(guess)\"?" }
                else { message += "; known keys are " + DropInHeader.keys.map { "testbed-\($0)" }.joined(separator: ", ") }
                state.errors.append(location.error(message))
                continue
            }
            let values: [String]
            switch line.key {
            case "requires": values = line.value.split(separator: ",").map { $0.trimmingWhitespaceAndCR() }.filter { !$0.isEmpty }
            case "setup", "tags": values = line.value.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" }).map(String.init)
            default: values = [line.value]
            }
            fields.add(line.key, values, at: location)
        }
        if let test = fields.build(id: id, command: .executable(executable), directory: directory,
                                   cache: state.requirements, errors: &state.errors) {
            state.tests.append(test)
        }
    }

    // MARK: - testbed.yaml

    func loadDeclarationFile(_ path: String, shownAs: String, suiteRoot: String, relativeDirectory: String, state: inout LoadState) {
        let reader = YAMLReader(file: shownAs)
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().standardizedFileURL.path
        do {
            let text = try readDeclarationFile(path, shownAs: shownAs)
            guard let root = try reader.parse(text) else { return }
            let entries = try reader.mapping(root, what: "a testbed.yaml file")
            try reader.checkKeys(entries, allowed: ["setups", "tests", SuiteRoot.rootKey], what: "a testbed.yaml file (top level)")
            for entry in entries {
                if entry.key == SuiteRoot.rootKey {
                    // `root: true` stops the walk up to the suite root here (SuiteRoot.find).
                    _ = try reader.bool(entry.value, what: "root")
                    continue
                }
                if case .scalar(let text, _, true) = entry.value, text.isEmpty { continue }
                let items = try reader.mapping(entry.value, what: entry.key)
                for item in items {
                    do {
                        if entry.key == "tests" {
                            let prefix = relativeDirectory.isEmpty ? "" : "/" + relativeDirectory
                            if let test = try loadTest(item, idPrefix: prefix, directory: directory, reader: reader,
                                                      cache: state.requirements, errors: &state.errors) {
                                state.tests.append(test)
                                if case .shell(let run) = test.command, ProgramLookup.relativeProgram(of: run) != nil {
                                    state.relativePrograms += 1
                                }
                            }
                        } else {
                            if let setup = try loadSetup(item, directory: directory, reader: reader, errors: &state.errors) {
                                state.setups.append(setup)
                                for requirement in setup.requires { state.requirements.note(requirement) }
                            }
                        }
                    } catch {
                        state.errors.append(error)
                    }
                }
            }
        } catch {
            state.errors.append(error)
        }
    }

    static let testKeys = FieldTable.keys
    static let setupKeys = ["run", "teardown", "check", "provides", "requires", "after", "scope", "timeout", "description"]

    func loadTest(_ item: YAMLReader.Entry, idPrefix: String, directory: String,
                  reader: YAMLReader, cache: RequirementCache, errors: inout [DeclarationError]) throws(DeclarationError) -> TestDefinition? {
        let location = DeclarationLocation(file: reader.file, line: reader.line(item.keyNode))
        let key = item.key
        if !Self.isValidIDPart(key) {
            throw location.error("test key \"\(key)\" is not a valid id part; use names separated by single `/`, without `.`, `..` or empty parts")
        }
        var fields = TestFields(location: location)
        if case .scalar(let command, _, _) = item.value {
            fields.values.run = ([command], location)
        } else {
            let entries = try reader.mapping(item.value, what: "test \"\(key)\"")
            // Unknown keys first: a misspelt key is the error to show, before any value's.
            for entry in entries where FieldTable.slot(entry.key) == nil {
                try reader.checkKeys([entry], allowed: Self.testKeys, what: "test \"\(key)\"")
            }
            for entry in entries {
                guard let slot = FieldTable.slot(entry.key) else { continue }
                let at = DeclarationLocation(file: reader.file, line: entry.keyNode.line)
                // A mapping has each key once (duplicates are YAML errors): set, not add.
                switch slot {
                case FieldTable.requiresSlot, FieldTable.setupSlot, FieldTable.tagsSlot:
                    var values = try reader.strings(entry.value, what: entry.key)
                    if slot == FieldTable.tagsSlot, case .scalar = entry.value {
                        values = values.flatMap { $0.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init) }
                    }
                    fields.values[slot: slot] = (values, at)
                default:
                    fields.values[slot: slot] = ([try reader.string(entry.value, what: "\(entry.key) of test \"\(key)\"")], at)
                }
            }
        }
        guard let run = fields.values.run?.values.first else {
            throw location.error("test \"\(key)\" has no `run`; add `run: COMMAND` (a command line run in \(reader.file)'s directory)")
        }
        // The program is looked for when the test runs (a setup may build it), not here.
        if Self.isBlank(run) {
            errors.append((fields.values.run?.location ?? location).error("test \"\(key)\": the command is empty; write the command line to run"))
            return nil
        }
        return fields.build(id: idPrefix + "/" + key, command: .shell(run), directory: directory, cache: cache, errors: &errors)
    }

    /// Names separated by single `/`, without `.`, `..`, empty parts or NUL.
    static func isValidIDPart(_ key: String) -> Bool {
        var part = 0 // bytes in the current part; -1 and -2 for "." and ".."
        for byte in key.utf8 {
            switch byte {
            case 0: return false
            case UInt8(ascii: "/"):
                if part <= 0 { return false }
                part = 0
            case UInt8(ascii: "."): part = part == 0 ? -1 : part == -1 ? -2 : part < 0 ? 3 : part + 1
            default: part = part < 0 ? 3 : part + 1
            }
        }
        return part > 0
    }

    func loadSetup(_ item: YAMLReader.Entry, directory: String,
                   reader: YAMLReader, errors: inout [DeclarationError]) throws(DeclarationError) -> SetupDefinition? {
        let location = DeclarationLocation(file: reader.file, line: reader.line(item.keyNode))
        let name = item.key
        if let bad = firstUnprintableNamed(in: name) {
            throw location.error("setup name \"\(shortenedName(name))\" has \(bad) that would reach "
                + "terminals and reports as it is; rename it with letters, digits and _ . - : @")
        }
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "_.-:@".contains($0) }) else {
            throw location.error("setup name \"\(name)\" is not valid; use letters, digits and _ . - : @")
        }
        let entries = try reader.mapping(item.value, what: "setup \"\(name)\"")
        try reader.checkKeys(entries, allowed: Self.setupKeys, what: "setup \"\(name)\"")
        var run: String?
        var teardown: String?
        var check: String?
        var provides: [ProvidedFact] = []
        var requires: [Requirement] = []
        var after: [String] = []
        var requiresLocation: DeclarationLocation?
        var scope = SetupDefinition.Scope.run
        var timeout = SetupDefinition.defaultTimeout
        var description: String?
        for entry in entries {
            let at = DeclarationLocation(file: reader.file, line: reader.line(entry.keyNode))
            switch entry.key {
            case "run", "teardown", "check":
                let command = try reader.string(entry.value, what: "\(entry.key) of setup \"\(name)\"")
                if Self.isBlank(command) {
                    throw at.error("\(entry.key) of setup \"\(name)\": the command is empty; write the command line to run")
                }
                if entry.key == "run" { run = command } else if entry.key == "teardown" { teardown = command } else { check = command }
            case "provides":
                for (index, text) in try reader.strings(entry.value, what: "provides").enumerated() {
                    guard let fact = ProvidedFact(parsing: text) else {
                        let node = Self.item(entry.value, index)
                        throw reader.error(node, "\"\(text)\" in provides of setup \"\(name)\" is not a fact; write NAME or \"NAME = VALUE\"")
                    }
                    provides.append(fact)
                }
            case "requires":
                requires = try Self.requirements(try reader.strings(entry.value, what: "requires"), node: entry.value, reader: reader, owner: "setup \"\(name)\"")
                requiresLocation = at
            case "after":
                after = try reader.strings(entry.value, what: "after")
            case "scope":
                let text = try reader.string(entry.value, what: "scope")
                guard let value = SetupDefinition.Scope(rawValue: text) else {
                    throw at.error("scope of setup \"\(name)\" is \"\(text)\"; use `run` (once for all tests) or `test` (around each test)")
                }
                scope = value
            case "timeout":
                let text = try reader.string(entry.value, what: "timeout")
                guard let value = parseTimeout(text) else {
                    throw at.error("timeout of setup \"\(name)\" is \"\(text)\", not a duration up to ten years; write e.g. 90s, 10m or 1h (0 for no limit)")
                }
                timeout = value
            case "description":
                description = try reader.string(entry.value, what: "description")
            default: break
            }
        }
        guard let run else {
            throw location.error("setup \"\(name)\" has no `run`; add `run: COMMAND`")
        }
        return SetupDefinition(name: name, run: run, teardown: teardown, check: check, provides: provides,
                               requires: requires, after: after, scope: scope, timeout: timeout,
                               directory: directory, location: location, description: description,
                               requiresLocation: requiresLocation)
    }

    static func item(_ node: YAMLNode, _ index: Int) -> YAMLNode {
        if case .sequence(let items, _) = node, index < items.count { return items[index] }
        return node
    }

    static func requirements(_ texts: [String], node: YAMLNode, reader: YAMLReader, owner: String) throws(DeclarationError) -> [Requirement] {
        var result: [Requirement] = []
        for (index, text) in texts.enumerated() {
            do {
                result.append(try Requirement(parsing: text))
            } catch {
                throw reader.error(item(node, index), "\(owner): \(error)")
            }
        }
        return result
    }

    /// Whether a command has nothing but spaces and tabs. (Whether its
    /// program exists is asked when it runs: a setup may build it.)
    static func isBlank(_ command: String) -> Bool {
        command.utf8.allSatisfy { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
    }
}
