@testable import Execution
import Foundation
import GRDB
@testable import Requirements
@testable import Results
import TestSupport
import Testing

/// Links and FIFOs a step put at the names of the results database and its
/// lock: never followed.
@Suite("the results database and its lock, never through a link")
struct StoreLinkTests {
    @Test("a link at .lock is removed and a lock file made, the file it pointed to is never created; a FIFO the same")
    func lockLink() throws {
        let tree = try TemporaryTree()
        try tree.directory("results")
        try tree.directory("outside")
        #expect(symlink(tree["outside/lockfile"], tree["results/.lock"]) == 0)
        let store = try SQLiteRunStore(directory: tree["results"])
        #expect(store.notes == ["\(tree["results"])/.lock was a symbolic link to \(tree["outside/lockfile"]), not the lock file Testbed "
                                + "made; Testbed removed it and made a new one (it never follows what a step plants in the results)"])
        #expect(fileType(tree["results/.lock"]) == S_IFREG)
        #expect(try FileManager.default.contentsOfDirectory(atPath: tree["outside"]).isEmpty)
        #expect(unlink(tree["results/.lock"]) == 0 && mkfifo(tree["results/.lock"], 0o644) == 0)
        let again = try SQLiteRunStore(directory: tree["results"])
        #expect(again.notes.count == 1 && again.notes[0].contains("/.lock was a FIFO, not the lock file"))
        #expect(fileType(tree["results/.lock"]) == S_IFREG)
    }

    @Test("testbed.sqlite, -wal or -shm that is a link or a directory at the start: refused, naming it and the fix")
    func linkedAtStart() throws {
        let tree = try TemporaryTree(["outside/evil.db": "not yours\n"])
        try tree.directory("results")
        #expect(symlink(tree["outside/evil.db"], tree["results/testbed.sqlite-wal"]) == 0)
        #expect(throws: StoreError.linkedDatabase(tree["results/testbed.sqlite-wal"], tree["outside/evil.db"])) {
            try SQLiteRunStore(directory: tree["results"])
        }
        #expect(unlink(tree["results/testbed.sqlite-wal"]) == 0)
        try tree.directory("results/testbed.sqlite")
        let error = #expect(throws: StoreError.self) { try SQLiteRunStore(directory: tree["results"]) }
        #expect(error?.description == "\(tree["results/testbed.sqlite"]) is a directory, not a file of the results database; "
                + "move it aside or choose another --results DIR")
        #expect(try String(contentsOfFile: tree["outside/evil.db"], encoding: .utf8) == "not yours\n")
        // A FIFO is never opened (SQLite would wait on it for good).
        try FileManager.default.removeItem(atPath: tree["results/testbed.sqlite"])
        #expect(mkfifo(tree["results/testbed.sqlite-shm"], 0o644) == 0)
        let fifo = #expect(throws: StoreError.self) { try SQLiteRunStore(directory: tree["results"]) }
        #expect(fifo?.description == "\(tree["results/testbed.sqlite-shm"]) is a FIFO, not a file of the results database; "
                + "move it aside or choose another --results DIR")
    }

    @Test("a link at testbed.sqlite that SQLite would open (put there after the check): refused before anything is written through it")
    func linkedWhenOpened() throws {
        let tree = try TemporaryTree()
        try tree.directory("results")
        try tree.directory("outside")
        let store = try SQLiteRunStore(directory: tree["results"])
        // A real database outside, so that opening it creates nothing there.
        let outside = try DatabaseQueue(path: tree["outside/evil.db"])
        try outside.close()
        let before = try Data(contentsOf: URL(fileURLWithPath: tree["outside/evil.db"]))
        #expect(unlink(tree["results/testbed.sqlite"]) == 0)
        #expect(symlink(tree["outside/evil.db"], tree["results/testbed.sqlite"]) == 0)
        var notes: [String] = []
        #expect(throws: StoreError.linkedDatabase(tree["results/testbed.sqlite"], tree["outside/evil.db"])) {
            _ = try SQLiteRunStore.open(store.results, shown: tree["results"], midRun: false, notes: &notes)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: tree["outside/evil.db"])) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: tree["outside"]) == ["evil.db"])
        // During a run the link is removed and a database made in its place.
        _ = try SQLiteRunStore.open(store.results, shown: tree["results"], midRun: true, notes: &notes)
        #expect(notes == ["\(tree["results/testbed.sqlite"]) was replaced by a symbolic link to \(tree["outside/evil.db"]) during the "
                          + "run; Testbed removed the link (it never follows what a step plants in the results)"])
        #expect(fileType(tree["results/testbed.sqlite"]) == S_IFREG)
        #expect(try FileManager.default.contentsOfDirectory(atPath: tree["outside"]) == ["evil.db"])
    }
}

extension StoreError: Equatable {
    /// Two store errors are equal when they read the same (for `#expect(throws:)`).
    public static func == (a: Self, b: Self) -> Bool { a.description == b.description }
}

private func fileType(_ path: String) -> mode_t? {
    var info = stat()
    guard lstat(path, &info) == 0 else { return nil }
    return info.st_mode & S_IFMT
}
