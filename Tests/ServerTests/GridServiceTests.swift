import Dashboard
import Foundation
import Results
import Server
import Synchronization
import Testing
import TestSupport

/// A launcher that records the argument vectors it is given and answers with a canned output or failure.
final class RecordingLauncher: GridRunLauncher {
    let answer: Result<String, APIFailure>
    let calls = Mutex<[[String]]>([])

    init(_ answer: Result<String, APIFailure> = .success(#"{"grid": "grid-20261130-101500-3fa2", "shards": ["#
        + #"{"node": "node1", "job": 41, "tests": 3}, {"node": "node2", "job": "42", "tests": ["/a", "/b"]}]}"#)) {
        self.answer = answer
    }

    var arguments: [[String]] { calls.withLock { $0 } }

    func launch(_ arguments: [String]) async throws(APIFailure) -> String {
        calls.withLock { $0.append(arguments) }
        return try answer.get()
    }
}

/// No hosts: the unit tests of POST do not ask for them.
struct NoHosts: GridHostSource {
    func hosts(store: (any RunStore)?) throws(APIFailure) -> [DashboardData.HostRow] { [] }
}

let token = "s3cret-token-0123456789"
let authorization = "Bearer " + token
/// The paths that exist for these tests.
let existing: Set<String> = ["/shared/suite", "/shared/other", "/shared/lab.yaml"]

func service(_ launcher: RecordingLauncher, token: String? = token) -> GridService {
    GridService(launcher: launcher, token: token.map { BearerToken($0) }, hosts: NoHosts(), fileExists: { existing.contains($0) })
}

func body(_ json: String) -> Data { Data(json.utf8) }

/// The error message of an answer's `{"error": …}` body.
func message(_ answer: GridService.Answer) -> String {
    let object = try? JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any]
    return object?["error"] as? String ?? answer.body
}

@Suite("POST /api/runs: the token, the body's checks, the argument vector")
struct GridServiceTests {
    @Test("without a token file every POST is 403 saying how to enable it; nothing is launched")
    func noTokenFile() async {
        let launcher = RecordingLauncher()
        let answer = await service(launcher, token: nil).submit(authorization: authorization, body: body(#"{"suite": ["/shared/suite"]}"#),
                                                                 results: "/r")
        #expect(answer.status == 403)
        #expect(message(answer).contains("--token-file FILE"), "\(answer.body)")
        #expect(launcher.arguments.isEmpty)
    }

    @Test("a missing, wrong, truncated or non-bearer token is 401; nothing is launched", arguments: [
        nil, "Bearer wrong-token-0123456789x", "Bearer " + String(token.dropLast()), "Bearer " + token + "x", "Basic " + token, token,
        "Bearer", "Bearer ",
    ])
    func wrongToken(_ header: String?) async {
        let launcher = RecordingLauncher()
        let answer = await service(launcher).submit(authorization: header, body: body(#"{"suite": ["/shared/suite"]}"#), results: "/r")
        #expect(answer.status == 401, "\(String(describing: header))")
        #expect(message(answer).contains("Authorization: Bearer TOKEN"))
        #expect(launcher.arguments.isEmpty)
    }

    @Test("a good request is 202 with the grid and its jobs, launched as one argument vector of checked values")
    func accepted() async throws {
        let launcher = RecordingLauncher()
        let json = #"""
        {"suite": ["/shared/suite", "/shared/other"], "labels": {"qemu": "9.1.0 rc2", "build": "abc;rm -rf /"},
         "selection": {"tags": ["quick & !slow"], "ids": ["/net/*"], "keyword": "virtio", "variants": ["accel=kvm"]},
         "environment": "lab", "replace_on_halt": false}
        """#
        let answer = await service(launcher).submit(authorization: "bearer " + token, body: body(json), results: "/srv/results")
        #expect(answer.status == 202, "\(answer.body)")
        let accepted = try JSONDecoder().decode(GridRunAccepted.self, from: Data(answer.body.utf8))
        #expect(accepted == GridRunAccepted(grid: "grid-20261130-101500-3fa2", jobs: [
            .init(node: "node1", job: "41", tests: 3), .init(node: "node2", job: "42", tests: 2),
        ]))
        #expect(launcher.arguments == [[
            "run", "--grid", "slurm", "--no-wait", "--json", "--tag=quick & !slow", "--id=/net/*", "-k", "virtio", "--variant=accel=kvm",
            "--label=build=abc;rm -rf /", "--label=qemu=9.1.0 rc2", "--environment=lab", "--results=/srv/results",
            "--", "/shared/suite", "/shared/other",
        ]])
    }

    @Test("the smallest request: the suite alone; an absolute environment file that exists")
    func smallest() async {
        let launcher = RecordingLauncher()
        let first = await service(launcher).submit(authorization: authorization, body: body(#"{"suite": ["/shared/suite"]}"#), results: "/r")
        let second = await service(launcher).submit(authorization: authorization,
                                                     body: body(#"{"suite": ["/shared/suite"], "environment": "/shared/lab.yaml"}"#), results: "/r")
        #expect(first.status == 202 && second.status == 202)
        #expect(launcher.arguments == [
            ["run", "--grid", "slurm", "--no-wait", "--json", "--results=/r", "--", "/shared/suite"],
            ["run", "--grid", "slurm", "--no-wait", "--json", "--environment=/shared/lab.yaml", "--results=/r", "--", "/shared/suite"],
        ])
    }

    @Test("each bad field is 400 naming it; nothing is launched", arguments: [
        (#"{"suite": ["shared/suite"]}"#, "suite 'shared/suite' is not an absolute path"),
        (#"{"suite": ["/shared/missing"]}"#, "suite '/shared/missing' does not exist on the server"),
        (#"{"suite": ["-/shared/suite"]}"#, "suite: '-/shared/suite' starts with -"),
        (#"{"suite": []}"#, "suite is empty"),
        (#"{}"#, "the body has no suite"),
        (#"{"suite": "/shared/suite"}"#, "suite must be a list of strings"),
        (#"{"suite": ["/shared/suite"], "selection": {"tags": ["--help"]}}"#, "selection.tags: '--help' starts with -"),
        (#"{"suite": ["/shared/suite"], "selection": {"ids": ["/a\nb"]}}"#, "selection.ids: '/a\\u{0A}b' has a control character"),
        (#"{"suite": ["/shared/suite"], "selection": {"keyword": "-x"}}"#, "selection.keyword: '-x' starts with -"),
        (#"{"suite": ["/shared/suite"], "selection": {"variants": ["accel"]}}"#, "selection.variants: 'accel' is not AXIS=VALUE"),
        (#"{"suite": ["/shared/suite"], "selection": {"tag": ["x"]}}"#, "selection has an unknown field 'tag'"),
        (#"{"suite": ["/shared/suite"], "label": {"a": "b"}}"#, "the body has an unknown field 'label'"),
        (#"{"suite": ["/shared/suite"], "labels": {"a b": "c"}}"#, "labels: the key 'a b' is not a label key"),
        (#"{"suite": ["/shared/suite"], "labels": {"-a": "c"}}"#, "labels: the key '-a' is not a label key"),
        (#"{"suite": ["/shared/suite"], "labels": {"grid-run": "x"}}"#, "labels: grid-run is set by the grid run itself"),
        (#"{"suite": ["/shared/suite"], "labels": {"a": "b\u0007"}}"#, "labels: the value of a has a control character"),
        (#"{"suite": ["/shared/suite"], "labels": {"a": 1}}"#, "labels.a must be a string"),
        (#"{"suite": ["/shared/suite"], "environment": "../etc/lab"}"#, "environment '../etc/lab' is neither an absolute path nor a NAME"),
        (#"{"suite": ["/shared/suite"], "environment": "/shared/nolab.yaml"}"#, "environment '/shared/nolab.yaml' does not exist"),
        (#"{"suite": ["/shared/suite"], "environment": "--environment=x"}"#, "environment: '--environment=x' starts with -"),
        (#"{"suite": ["/shared/suite"], "replace_on_halt": "yes"}"#, "replace_on_halt must be true or false"),
        (#"{"suite": ["/shared/suite"], "replace_on_halt": true}"#, "replace_on_halt: true is refused: the grid run is started with --no-wait"),
        (#"["/shared/suite"]"#, "the body is not a JSON object"),
        ("suite=/shared/suite", "the body is not JSON"),
    ])
    func refused(json: String, expected: String) async {
        let launcher = RecordingLauncher()
        let answer = await service(launcher).submit(authorization: authorization, body: body(json), results: "/r")
        #expect(answer.status == 400, "\(json): \(answer.body)")
        #expect(message(answer).contains(expected), "\(json): \(message(answer))")
        #expect(launcher.arguments.isEmpty, "\(json)")
    }

    @Test("a body over 64 KiB is 413, checked only after the token")
    func tooLarge() async {
        let launcher = RecordingLauncher()
        let big = Data(repeating: 0x20, count: GridRunRequest.maximumBody + 1)
        #expect(await service(launcher).submit(authorization: authorization, body: nil, results: "/r").status == 413)
        #expect(await service(launcher).submit(authorization: authorization, body: big, results: "/r").status == 413)
        #expect(await service(launcher).submit(authorization: nil, body: nil, results: "/r").status == 401)
        #expect(launcher.arguments.isEmpty)
    }

    @Test("the launcher's refusal is passed on; output that is not the grid run's JSON is 502")
    func launcherFailures() async {
        let refusing = RecordingLauncher(.failure(APIFailure(status: 400, message: "testbed run --grid slurm exited with 64: no test matched")))
        let refused = await service(refusing).submit(authorization: authorization, body: body(#"{"suite": ["/shared/suite"]}"#), results: "/r")
        #expect(refused.status == 400 && message(refused) == "testbed run --grid slurm exited with 64: no test matched")
        let garbled = RecordingLauncher(.success("GRID grid-1\nnode1: job 4, 3 tests\n"))
        let bad = await service(garbled).submit(authorization: authorization, body: body(#"{"suite": ["/shared/suite"]}"#), results: "/r")
        #expect(bad.status == 502 && message(bad).contains("printed no grid run"), "\(bad.body)")
        #expect(garbled.arguments.count == 1)
    }
}

@Suite("the token file")
struct BearerTokenTests {
    func file(_ text: String, mode: mode_t) throws -> (TemporaryTree, String) {
        let tree = try TemporaryTree()
        try tree.write("token", text)
        chmod(tree["token"], mode)
        return (tree, tree["token"])
    }

    @Test("a file of mode 0600 is read, its trailing newline trimmed; only the exact bearer token is accepted")
    func reads() throws {
        let (tree, path) = try file(token + "\n", mode: 0o600)
        _ = tree
        let read = try BearerToken(file: path)
        #expect(read.accepts("Bearer " + token))
        #expect(read.accepts("BEARER " + token))
        #expect(!read.accepts("Bearer " + token + "\n"))
        #expect(!read.accepts("Bearer  " + token))
        #expect(!read.accepts(nil))
    }

    @Test("a file others may read, an empty or short token, a directory, a missing file: refused with the fix", arguments: [
        ("group", "can be read or written by others (mode 640); chmod 600"), ("empty", "is empty; write a token into it"),
        ("short", "holds no token of at least 16 printable characters"), ("spaces", "holds no token of at least 16"),
        ("directory", "is not a regular file"), ("missing", "cannot be read (No such file or directory)"),
    ])
    func refuses(kind: String, expected: String) throws {
        let tree = try TemporaryTree()
        let path = tree["token"]
        switch kind {
        case "group": try tree.write("token", token); chmod(path, 0o640)
        case "empty": try tree.write("token", "\n"); chmod(path, 0o600)
        case "short": try tree.write("token", "abc\n"); chmod(path, 0o600)
        case "spaces": try tree.write("token", "abcdefgh ijklmnopq\n"); chmod(path, 0o600)
        case "directory": try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true); chmod(path, 0o700)
        default: break
        }
        do {
            _ = try BearerToken(file: path)
            Issue.record("\(kind) accepted")
        } catch {
            #expect(error.description.hasPrefix("--token-file \(path) "), "\(error)")
            #expect(error.description.contains(expected), "\(error)")
        }
    }
}

@Suite("the grid run's output")
struct GridRunAcceptedTests {
    @Test("job ids as numbers or strings, tests as a count or a list; anything else is 502")
    func parses() throws {
        let parsed = try GridRunAccepted.parse(runOutput: #"{"grid": "g", "shards": [{"node": "n", "job": 7, "tests": ["/a"]}], "x": 1}"#)
        #expect(parsed == GridRunAccepted(grid: "g", jobs: [.init(node: "n", job: "7", tests: 1)]))
        // What `testbed run --grid slurm --no-wait --json` prints (helper A's orchestrator, pretty-printed, with each shard's name).
        let printed = """
            {
              "grid" : "grid-20261130-105032-fcf3",
              "shards" : [
                {"job" : "10", "node" : "node1", "shard" : "node1", "tests" : 2},
                {"job" : "11", "node" : "node2", "shard" : "node2", "tests" : 2},
                {"job" : "12", "node" : "node3", "shard" : "node3~2", "tests" : 1}
              ]
            }

            """
        let real = try GridRunAccepted.parse(runOutput: printed)
        #expect(real == GridRunAccepted(grid: "grid-20261130-105032-fcf3", jobs: [
            .init(node: "node1", job: "10", tests: 2), .init(node: "node2", job: "11", tests: 2), .init(node: "node3", job: "12", tests: 1),
        ]))
        #expect(throws: APIFailure.self) { try GridRunAccepted.parse(runOutput: #"{"shards": []}"#) }
        #expect(throws: APIFailure.self) { try GridRunAccepted.parse(runOutput: "") }
    }
}
