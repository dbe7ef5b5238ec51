import Foundation
import Testing
import TestSupport
import Yams

/// docs/openapi.yaml checked against the running server: every path it lists answers 200 on a real history, and each answer
/// (each element of an array answer) has the required properties of its schema.
@Suite("docs/openapi.yaml against testbed serve", .timeLimit(.minutes(3)))
struct OpenAPITests {
    static let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../docs/openapi.yaml")
        .standardizedFileURL.path

    @Test("every documented path answers 200 with its schema's required properties; no route is left undocumented")
    func matches() throws {
        let document = try #require(try Yams.load(yaml: String(contentsOfFile: Self.file, encoding: .utf8)) as? [String: Any])
        #expect(document["openapi"] as? String == "3.1.0")
        let paths = try #require(document["paths"] as? [String: Any])
        let schemas = try #require((document["components"] as? [String: Any])?["schemas"] as? [String: Any])
        #expect(Set(paths.keys) == ["/api/runs", "/api/runs/{id}", "/api/tests/history", "/api/tests/{test}/history", "/api/diff",
                                    "/api/why", "/api/why/{test}", "/api/hosts"])
        let (tree, ids, _) = try HistoryCommandsTests.threeRuns()
        let (served, process, _) = try Served.start([], in: tree["suite"])
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        let server = try #require(served)
        let values = ["id": "/flip", "test": "/flip"]
        func resolved(_ schema: [String: Any]) -> [String: Any] {
            guard let reference = schema["$ref"] as? String else { return schema }
            return schemas[String(reference.split(separator: "/").last ?? "")] as? [String: Any] ?? [:]
        }
        for (path, item) in paths.sorted(by: { $0.key < $1.key }) {
            let get = try #require((item as? [String: Any])?["get"] as? [String: Any], "\(path)")
            let parameters = get["parameters"] as? [[String: Any]] ?? []
            let query = parameters.filter { $0["in"] as? String == "query" && $0["required"] as? Bool == true }
                .map { "\($0["name"] as? String ?? "")=\(values[$0["name"] as? String ?? ""] ?? "")" }
            let url = path.replacingOccurrences(of: "{id}", with: ids[1]).replacingOccurrences(of: "{test}", with: "%2Fflip")
                + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
            let answer = try http(server.port, url)
            #expect(answer.status == 200, "\(url): \(answer.body)")
            let responses = try #require(get["responses"] as? [String: Any])
            let ok = try #require(responses["200"] as? [String: Any])
            let content = try #require((ok["content"] as? [String: Any])?["application/json"] as? [String: Any])
            var schema = resolved(try #require(content["schema"] as? [String: Any]))
            let value = try JSONSerialization.jsonObject(with: Data(answer.body.utf8))
            var objects: [[String: Any]]
            if schema["type"] as? String == "array" {
                schema = resolved(schema["items"] as? [String: Any] ?? [:])
                objects = try #require(value as? [[String: Any]], "\(url)")
                #expect(!objects.isEmpty, "\(url)")
            } else {
                objects = [try #require(value as? [String: Any], "\(url)")]
            }
            let required = Set(schema["required"] as? [String] ?? [])
            #expect(!required.isEmpty, "\(path)")
            for object in objects {
                #expect(required.isSubset(of: Set(object.keys)), "\(url): missing \(required.subtracting(object.keys))")
                let known = Set((schema["properties"] as? [String: Any] ?? [:]).keys)
                if !known.isEmpty { #expect(Set(object.keys).isSubset(of: known), "\(url): undocumented \(Set(object.keys).subtracting(known))") }
            }
        }
    }
}
