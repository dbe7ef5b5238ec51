import PostgresStore
import Results
import Testing

@Suite("DatabaseURL: --database and TESTBED_DATABASE read")
struct DatabaseURLTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var text: String
        var host: String
        var port: Int
        var user: String
        var password: String?
        var database: String
        var testDescription: String { text }
    }

    @Test("the parts of a URL, with their defaults", arguments: [
        Case(text: "postgresql://testbed:pw@127.0.0.1:16805/testbed", host: "127.0.0.1", port: 16805, user: "testbed", password: "pw", database: "testbed"),
        Case(text: "postgres://lab@db.lab/results", host: "db.lab", port: 5432, user: "lab", password: nil, database: "results"),
        Case(text: "postgresql://db.lab", host: "db.lab", port: 5432, user: "testbed", password: nil, database: "testbed"),
        Case(text: "postgresql://me:p%40ss%3Aw@db:6000/x?sslmode=disable", host: "db", port: 6000, user: "me", password: "p@ss:w", database: "x"),
    ])
    func parts(_ example: Case) throws {
        let url = try DatabaseURL(example.text)
        #expect(url.host == example.host && url.port == example.port && url.user == example.user)
        #expect(url.password == example.password && url.database == example.database)
        #expect(url.shown == "postgresql://\(example.user)@\(example.host):\(example.port)/\(example.database)")
    }

    @Test("what is not a PostgreSQL URL is refused, naming it without its password", arguments: [
        ("mysql://u:secret@h/d", "not a URL of the form"), ("postgresql://u:secret@/d", "not a URL of the form"),
        ("postgresql://u:secret@h/d?sslmode=require", "sslmode=require is not supported"),
    ])
    func refused(_ text: String, _ words: String) {
        do {
            _ = try DatabaseURL(text)
            Issue.record("\(text) was read")
        } catch {
            #expect(error.description.contains(words), "\(error)")
            #expect(!error.description.contains("secret"), "\(error)")
            #expect(error.description.contains(":***@"), "\(error)")
            #expect(error.fix.contains("TESTBED_DATABASE"))
        }
    }
}
