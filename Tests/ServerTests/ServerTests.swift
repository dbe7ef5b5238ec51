import Foundation
import Results
import Server
import Testing
import TestSupport

@Suite("listen addresses")
struct ListenAddressTests {
    @Test("HOST:PORT parses; loopback is 127/8, localhost and ::1")
    func parses() throws {
        let standard = try ListenAddress(parsing: "127.0.0.1:8080")
        #expect(standard == .standard && standard.isLoopback)
        let six = try ListenAddress(parsing: "[::1]:0")
        #expect(six.host == "::1" && six.port == 0 && six.isLoopback && six.description == "[::1]:0")
        #expect(try ListenAddress(parsing: "127.1.2.3:9").isLoopback)
        #expect(try ListenAddress(parsing: "localhost:9").isLoopback)
        #expect(try !ListenAddress(parsing: "0.0.0.0:8080").isLoopback)
        #expect(try !ListenAddress(parsing: "192.0.2.7:8080").isLoopback)
    }

    @Test("not HOST:PORT: badListen naming the text", arguments: ["8080", ":8080", "host:", "host:http"])
    func refuses(_ text: String) {
        #expect(throws: ServerError.badListen(text)) { try ListenAddress(parsing: text) }
    }

    @Test("a port out of range says so", arguments: [("host:70000", 70000), ("host:-1", -1), ("127.0.0.1:99999", 99999)])
    func outOfRange(text: String, port: Int) {
        #expect(throws: ServerError.portOutOfRange(text, port)) { try ListenAddress(parsing: text) }
        #expect(ServerError.portOutOfRange(text, port).description.contains("port \(port) is out of range; give a port from 1 to 65535"))
    }

    @Test("the messages end with the fix")
    func messages() {
        #expect(ServerError.inUse("127.0.0.1:8080").description == "127.0.0.1:8080 is in use; choose another with --listen HOST:PORT")
        let nio = "bind(descriptor:ptr:bytes:): Cannot assign requested address) (errno: 99)"
        #expect(ServerError.cannotListen("1.2.3.4:8080", nio).description
            == "cannot listen on 1.2.3.4:8080: no interface of this machine has that address (errno 99); choose another address with --listen HOST:PORT")
    }
}

@Suite("the results directory under /logs/")
struct LogFilesTests {
    @Test("a file and a directory inside are served; .., absolute paths and links leading out are not")
    func inside() throws {
        let tree = try TemporaryTree()
        try tree.write("results/run1/log.txt", "hello")
        try tree.write("secret", "no")
        try FileManager.default.createSymbolicLink(atPath: tree["results/out"], withDestinationPath: tree.path)
        try FileManager.default.createSymbolicLink(atPath: tree["results/in"], withDestinationPath: tree["results/run1"])
        let logs = LogFiles(directory: tree["results"])
        let real = logs.root
        #expect(logs.entry("run1/log.txt") == .file(real + "/run1/log.txt"))
        #expect(logs.entry("run1/") == .directory(real + "/run1"))
        #expect(logs.entry("") == .directory(real))
        #expect(logs.entry("in/log.txt") == .file(real + "/run1/log.txt"))
        for path in ["../secret", "run1/../../secret", "/etc/passwd", "out/secret", "out", "./run1/log.txt", "run1//log.txt",
                     "run1/missing", "run1/log.txt\0"] {
            #expect(logs.entry(path) == .none, "\(path)")
        }
    }

    @Test("Testbed's own bookkeeping is hidden: dot entries anywhere, the database at the top")
    func hidden() throws {
        let tree = try TemporaryTree()
        for path in ["results/.lock", "results/testbed.sqlite", "results/testbed.sqlite-wal", "results/run1/.running",
                     "results/run1/testbed.sqlite", "results/run1/log.txt"] {
            try tree.write(path, "x")
        }
        let logs = LogFiles(directory: tree["results"])
        for path in [".lock", "testbed.sqlite", "testbed.sqlite-wal", "run1/.running"] {
            #expect(logs.entry(path) == .none, "\(path)")
        }
        // The database under another name, by a symbolic or a hard link a test left in its output: never opened.
        try FileManager.default.createSymbolicLink(atPath: tree["results/run1/db.txt"], withDestinationPath: "../testbed.sqlite")
        try FileManager.default.linkItem(atPath: tree["results/testbed.sqlite-wal"], toPath: tree["results/run1/wal.txt"])
        for path in ["run1/db.txt", "run1/wal.txt"] {
            #expect(logs.entry(path) == .none, "\(path)")
            #expect(logs.isBookkeeping(logs.root + "/" + path), "\(path)")
        }
        // A test's own artifact of that name in a run directory is a log like any other.
        #expect(logs.entry("run1/testbed.sqlite") == .file(logs.root + "/run1/testbed.sqlite"))
        #expect(logs.entry("run1/log.txt") == .file(logs.root + "/run1/log.txt"))
    }
}

@Suite("API paths")
struct APIRequestTests {
    @Test("each path and query becomes its request")
    func paths() throws {
        let cases: [(String, [String: String], APIRequest)] = [
            ("runs", [:], .runs(RunFilter(), limit: 20)),
            ("runs/", ["limit": "0", "host": "lab1"], .runs(RunFilter(host: "lab1"), limit: 0)),
            ("runs/20261130-0901", [:], .run("20261130-0901")),
            ("tests/history", ["id": "/net/virtio", "environment": "lab"],
             .history(test: "/net/virtio", filter: RunFilter(environment: "lab"), limit: 20)),
            ("diff", ["a": "x", "b": "y"], .diff(a: "x", b: "y")),
            ("diff", [:], .diff(a: nil, b: nil)),
            ("why", ["test": "/a/b"], .why(test: "/a/b", filter: RunFilter())),
            // The path forms of the issue: the id percent-encoded or written out.
            ("tests/%2Fnet%2Fvirtio/history", ["limit": "5"], .history(test: "/net/virtio", filter: RunFilter(), limit: 5)),
            ("tests//net/virtio/history", [:], .history(test: "/net/virtio", filter: RunFilter(), limit: 20)),
            ("tests/net/virtio/history", [:], .history(test: "/net/virtio", filter: RunFilter(), limit: 20)),
            ("why/%2Fa%2Fb", [:], .why(test: "/a/b", filter: RunFilter())),
            ("why/a/b", ["host": "lab1"], .why(test: "/a/b", filter: RunFilter(host: "lab1"))),
            ("hosts", [:], .hosts),
        ]
        for (path, query, expected) in cases {
            let parsed = try TestbedServer.parse(path: path, query: query).get()
            #expect(parsed == expected, "\(path)")
        }
    }

    @Test("unknown paths are 404, missing or bad parameters 400")
    func failures() {
        let statuses = [("nowhere", [String: String]()), ("runs/a/b", [:]), ("why", [:]), ("tests/history", [:]),
                        ("runs", ["limit": "-1"]), ("tests//history", [:]), ("why/", [:])].map { path, query -> Int in
            if case let .failure(failure) = TestbedServer.parse(path: path, query: query) { return failure.status }
            return 200
        }
        #expect(statuses == [404, 404, 400, 400, 400, 404, 400])
    }

    @Test("a limit that is no number says so; a negative one says 0 or more", arguments: [
        ("abc", "limit must be a whole number, not 'abc'; e.g. limit=20"), ("-3", "limit must be 0 or more (0: all), not -3"),
    ])
    func limits(value: String, message: String) {
        for path in ["runs", "tests/history", "tests/a/history"] {
            let parsed = TestbedServer.parse(path: path, query: ["limit": value, "id": "/a"])
            guard case let .failure(failure) = parsed else { Issue.record("\(path) accepted limit=\(value)"); continue }
            #expect(failure.status == 400 && failure.message == message, "\(path): \(failure.message)")
        }
    }
}
