import Foundation

/// The body of `POST /api/runs` (`testbed serve --grid slurm`): a grid run to start, checked field by field before
/// anything is started, and turned into the argument vector of `testbed run --grid slurm --no-wait --json`.
///
/// ```json
/// {"suite": ["/shared/suites/virt"], "labels": {"qemu": "9.1.0"},
///  "selection": {"tags": ["quick"], "ids": ["/net"], "keyword": "virtio", "variants": ["accel=kvm"]},
///  "environment": "lab"}
/// ```
///
/// Every value goes into one argument of its own, as `--option=VALUE` (never through a shell). A suite is an
/// absolute path that exists (on storage every node shares); no value may start with `-` or hold a control
/// character; label keys are those `--label` accepts; the environment is a NAME (`environments/NAME.yaml` at the
/// suite root) or an absolute path to a file that exists.
public struct GridRunRequest: Sendable, Equatable, Decodable {
    /// The selection of `run`: `--tag`, `--id`, `-k`, `--variant`.
    public struct Selection: Sendable, Equatable, Decodable {
        /// `--tag` expressions.
        public var tags: [String]
        /// `--id` patterns.
        public var ids: [String]
        /// `-k` word.
        public var keyword: String?
        /// `--variant` AXIS=VALUE pairs.
        public var variants: [String]

        /// A selection.
        ///
        /// - Parameters:
        ///   - tags: `--tag` expressions.
        ///   - ids: `--id` patterns.
        ///   - keyword: the `-k` word.
        ///   - variants: `--variant` pairs.
        public init(tags: [String] = [], ids: [String] = [], keyword: String? = nil, variants: [String] = []) {
            self.tags = tags
            self.ids = ids
            self.keyword = keyword
            self.variants = variants
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case tags, ids, keyword, variants }

        /// Decodes a selection; a missing list is empty.
        ///
        /// - Parameter decoder: the decoder.
        /// - Throws: `DecodingError` for a field of the wrong type.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            tags = try container.decodeIfPresent([String].self, forKey: .tags) ?? []
            ids = try container.decodeIfPresent([String].self, forKey: .ids) ?? []
            keyword = try container.decodeIfPresent(String.self, forKey: .keyword)
            variants = try container.decodeIfPresent([String].self, forKey: .variants) ?? []
        }
    }

    /// Suite paths (absolute, on shared storage).
    public var suite: [String]
    /// Labels recorded with every shard's run (`--label KEY=VALUE`).
    public var labels: [String: String]
    /// Which tests.
    public var selection: Selection
    /// `--environment`: a NAME or an absolute path.
    public var environment: String?
    /// `replace_on_halt`: accepted only false, since the run is started with `--no-wait` and nothing follows it to
    /// place a halted node's tests elsewhere (`check` refuses true).
    public var replaceOnHalt: Bool

    /// A request.
    ///
    /// - Parameters:
    ///   - suite: suite paths.
    ///   - labels: labels.
    ///   - selection: the selection.
    ///   - environment: the environment.
    ///   - replaceOnHalt: whether tests of a halted node are placed on others.
    public init(suite: [String], labels: [String: String] = [:], selection: Selection = Selection(), environment: String? = nil,
                replaceOnHalt: Bool = false) {
        self.suite = suite
        self.labels = labels
        self.selection = selection
        self.environment = environment
        self.replaceOnHalt = replaceOnHalt
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case suite, labels, selection, environment
        case replaceOnHalt = "replace_on_halt"
    }

    /// Decodes a request; `suite` is required, the rest optional.
    ///
    /// - Parameter decoder: the decoder.
    /// - Throws: `DecodingError` for a missing suite or a field of the wrong type.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        suite = try container.decode([String].self, forKey: .suite)
        labels = try container.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        selection = try container.decodeIfPresent(Selection.self, forKey: .selection) ?? Selection()
        environment = try container.decodeIfPresent(String.self, forKey: .environment)
        replaceOnHalt = try container.decodeIfPresent(Bool.self, forKey: .replaceOnHalt) ?? false
    }

    /// The largest body accepted, in bytes (64 KiB).
    public static let maximumBody = 65_536

    /// Reads and checks a request body.
    ///
    /// - Parameters:
    ///   - body: the JSON body.
    ///   - fileExists: whether a path exists (and is a directory, or a file: `isDirectory` is set); the file system by default.
    /// - Returns: the request, every field checked.
    /// - Throws: `APIFailure` with status 400 naming the field and the fix, 413 for a body over `maximumBody`.
    public static func parse(_ body: Data, fileExists: (String) -> Bool = { FileManager.default.fileExists(atPath: $0) })
        throws(APIFailure) -> GridRunRequest {
        guard body.count <= maximumBody else {
            throw APIFailure(status: 413, message: "the body has \(body.count) bytes; send at most \(maximumBody)")
        }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: body) } catch {
            throw APIFailure(status: 400, message: "the body is not JSON; send an object such as {\"suite\": [\"/shared/suite\"]}")
        }
        guard let fields = object as? [String: Any] else {
            throw APIFailure(status: 400, message: "the body is not a JSON object; send an object such as {\"suite\": [\"/shared/suite\"]}")
        }
        try unknownKeys(Array(fields.keys), known: CodingKeys.allCases.map(\.rawValue), in: "the body")
        if let selection = fields["selection"] as? [String: Any] {
            try unknownKeys(Array(selection.keys), known: Selection.CodingKeys.allCases.map(\.rawValue), in: "selection")
        }
        let request: GridRunRequest
        do { request = try JSONDecoder().decode(GridRunRequest.self, from: body) } catch let error as DecodingError {
            throw APIFailure(status: 400, message: describe(error))
        } catch {
            throw APIFailure(status: 400, message: "cannot read the body: \(error)")
        }
        try request.check(fileExists: fileExists)
        return request
    }

    /// Refuses a key that is not one of `known`, with did-you-mean.
    static func unknownKeys(_ keys: [String], known: [String], in place: String) throws(APIFailure) {
        for key in keys.sorted() where !known.contains(key) {
            throw APIFailure(status: 400, message: "\(place) has an unknown field \(shown(key)); the fields are \(known.joined(separator: ", "))")
        }
    }

    /// A decoding error in words: which field, what is wrong.
    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined()
            return keys.isEmpty ? "the body" : String(keys.drop { $0 == "." })
        }
        switch error {
        case let .keyNotFound(key, _) where key.stringValue == "suite":
            return "the body has no suite; give the suites' absolute paths, e.g. {\"suite\": [\"/shared/suite\"]}"
        case let .keyNotFound(key, context):
            return "\(path(context)) has no \(key.stringValue); give it"
        case let .typeMismatch(type, context), let .valueNotFound(type, context):
            let name = "\(type)"
            let wanted = name.hasPrefix("Array") ? "a list of strings" : name.hasPrefix("Dictionary") ? "an object"
                : type == String.self ? "a string" : type == Bool.self ? "true or false" : name
            return "\(path(context)) must be \(wanted); send it as such"
        case let .dataCorrupted(context):
            return "\(path(context)) cannot be read: \(context.debugDescription); send valid JSON"
        @unknown default:
            return "cannot read the body; send valid JSON"
        }
    }

    /// Checks every field (see the type's description).
    ///
    /// - Parameter fileExists: whether a path exists.
    /// - Throws: `APIFailure` (400) naming the field, its value and the fix.
    func check(fileExists: (String) -> Bool) throws(APIFailure) {
        guard !replaceOnHalt else {
            throw APIFailure(status: 400, message: "replace_on_halt: true is refused: the grid run is started with --no-wait and "
                + "--replace-on-halt needs the run to be followed; leave replace_on_halt out or false, and follow the run with "
                + "testbed run --grid slurm --replace-on-halt instead")
        }
        guard !suite.isEmpty else {
            throw APIFailure(status: 400, message: "suite is empty; give at least one suite's absolute path on shared storage")
        }
        for path in suite {
            try Self.plain(path, field: "suite")
            guard path.hasPrefix("/") else {
                throw APIFailure(status: 400, message: "suite \(Self.shown(path)) is not an absolute path; give the path every node sees, "
                    + "starting with /")
            }
            guard fileExists(path) else {
                throw APIFailure(status: 400, message: "suite \(Self.shown(path)) does not exist on the server; give a path on storage "
                    + "the server and every node share")
            }
        }
        for (key, value) in labels.sorted(by: { $0.key < $1.key }) {
            guard !key.isEmpty, key.allSatisfy(Self.isLabelKeyCharacter), !key.hasPrefix("-") else {
                throw APIFailure(status: 400, message: "labels: the key \(Self.shown(key)) is not a label key; "
                    + "write a key of letters, digits, _ . and -, not starting with -, e.g. build")
            }
            guard key != Self.reservedLabel else {
                throw APIFailure(status: 400, message: "labels: \(key) is set by the grid run itself; choose another key")
            }
            guard !value.unicodeScalars.contains(where: Self.isControl) else {
                throw APIFailure(status: 400, message: "labels: the value of \(key) has a control character; send printable characters only")
            }
        }
        for tag in selection.tags { try Self.plain(tag, field: "selection.tags") }
        for id in selection.ids { try Self.plain(id, field: "selection.ids") }
        if let keyword = selection.keyword { try Self.plain(keyword, field: "selection.keyword") }
        for variant in selection.variants {
            try Self.plain(variant, field: "selection.variants")
            guard let equals = variant.firstIndex(of: "="), equals != variant.startIndex, variant.index(after: equals) != variant.endIndex else {
                throw APIFailure(status: 400, message: "selection.variants: \(Self.shown(variant)) is not AXIS=VALUE; write e.g. accel=kvm")
            }
        }
        if let environment {
            try Self.plain(environment, field: "environment")
            if environment.hasPrefix("/") {
                guard fileExists(environment) else {
                    throw APIFailure(status: 400, message: "environment \(Self.shown(environment)) does not exist on the server; "
                        + "give a file on shared storage, or a NAME of environments/NAME.yaml at the suite root")
                }
            } else if environment.hasPrefix(".") || !environment.allSatisfy(Self.isLabelKeyCharacter) {
                throw APIFailure(status: 400, message: "environment \(Self.shown(environment)) is neither an absolute path nor a NAME; "
                    + "give /shared/lab.yaml, or NAME (letters, digits, _ . -) for environments/NAME.yaml at the suite root")
            }
        }
    }

    /// The label the grid run sets on every shard's run.
    public static let reservedLabel = "grid-run"

    /// Refuses an empty value, one that starts with `-` (it would read as an option) or holds a control character.
    static func plain(_ value: String, field: String) throws(APIFailure) {
        guard !value.isEmpty else { throw APIFailure(status: 400, message: "\(field) has an empty value; remove it or give a value") }
        guard !value.hasPrefix("-") else {
            throw APIFailure(status: 400, message: "\(field): \(shown(value)) starts with -; a value may not look like an option")
        }
        guard !value.unicodeScalars.contains(where: isControl) else {
            throw APIFailure(status: 400, message: "\(field): \(shown(value)) has a control character; send printable characters only")
        }
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool { scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) }

    static func isLabelKeyCharacter(_ character: Character) -> Bool {
        character.isASCII && (character.isLetter || character.isNumber || "_.-".contains(character))
    }

    /// A value as a message shows it: quoted, control characters escaped, at most 80 characters.
    static func shown(_ value: String) -> String {
        var text = ""
        for scalar in value.unicodeScalars.prefix(80) {
            text += isControl(scalar) ? String(format: "\\u{%02X}", scalar.value) : String(scalar)
        }
        return "'" + text + (value.unicodeScalars.count > 80 ? "…" : "") + "'"
    }

    /// The arguments of `testbed` (after the program) that start this run: `run --grid slurm --no-wait --json`, the
    /// selection, labels, environment and `--results` each as one `--option=VALUE` argument (`-k` and its word as two),
    /// then `--` and the suites.
    ///
    /// The database is not among them: the launcher passes it in the environment (`TESTBED_DATABASE`), never on a
    /// command line that `ps` shows.
    ///
    /// - Parameter results: the server's results directory.
    /// - Returns: the argument vector.
    public func arguments(results: String) -> [String] {
        var arguments = ["run", "--grid", "slurm", "--no-wait", "--json"]
        arguments += selection.tags.map { "--tag=\($0)" }
        arguments += selection.ids.map { "--id=\($0)" }
        // -k takes its value as the next argument; the value cannot start with `-` (checked), so it is never read as an option.
        if let keyword = selection.keyword { arguments += ["-k", keyword] }
        arguments += selection.variants.map { "--variant=\($0)" }
        arguments += labels.sorted { $0.key < $1.key }.map { "--label=\($0.key)=\($0.value)" }
        if let environment { arguments.append("--environment=\(environment)") }
        arguments.append("--results=\(results)")
        arguments.append("--")
        return arguments + suite
    }
}
