@testable import Declarations
@testable import HostFacts
@testable import Requirements
import Testing

@Suite("Requirement grammar")
struct RequirementGrammarTests {
    @Test("every form parses", arguments: [
        ("root", [Alternative.present("root")]),
        ("  kvm  ", [.present("kvm")]),
        ("!virtualized", [.absent("virtualized")]),
        ("! virtualized", [.absent("virtualized")]),
        ("qemu >= 8.2", [.compare("qemu", .greaterOrEqual, "8.2")]),
        ("qemu>=8.2", [.compare("qemu", .greaterOrEqual, "8.2")]),
        ("kernel > 5", [.compare("kernel", .greater, "5")]),
        ("kernel <= 6.1", [.compare("kernel", .lessOrEqual, "6.1")]),
        ("kernel < 6.1", [.compare("kernel", .less, "6.1")]),
        ("os == debian", [.compare("os", .equal, "debian")]),
        ("os != ubuntu", [.compare("os", .notEqual, "ubuntu")]),
        ("memory >= 8G", [.compare("memory", .greaterOrEqual, "8G")]),
        ("file:/sys/module/kvm/parameters/nested == Y", [.compare("file:/sys/module/kvm/parameters/nested", .equal, "Y")]),
        ("kernel-3.3.10+", [.compare("kernel", .greaterOrEqual, "3.3.10")]),
        ("windows-7sp1+", [.compare("windows", .greaterOrEqual, "7sp1")]),
        ("virtiowin-2013-10-24+", [.compare("virtiowin", .greaterOrEqual, "2013-10-24")]),
        ("qemu-system-x86_64-8.2+", [.compare("qemu-system-x86_64", .greaterOrEqual, "8.2")]),
        ("cpu-flag:vmx | cpu-flag:svm", [.present("cpu-flag:vmx"), .present("cpu-flag:svm")]),
        ("kvm|!virtualized|qemu>=9", [.present("kvm"), .absent("virtualized"), .compare("qemu", .greaterOrEqual, "9")]),
        ("pci:8086:1572", [.present("pci:8086:1572")]),
        ("DELL_R420", [.present("DELL_R420")]),
        ("cmd:qemu-img", [.present("cmd:qemu-img")]),
        ("user@host.a-b", [.present("user@host.a-b")]),
        ("qemu-system-x86_64", [.present("qemu-system-x86_64")]),
    ])
    func parses(text: String, alternatives: [Alternative]) throws {
        let requirement = try Requirement(parsing: text)
        #expect(requirement.alternatives == alternatives)
    }

    @Test("malformed requirements quote the text and point at the bad part", arguments: [
        ("", 1, "empty alternative"),
        ("kvm |", 6, "empty alternative"),
        ("| kvm", 1, "empty alternative"),
        ("qemu >=", 6, "missing value after `>=`"),
        (">= 8.2", 1, "missing fact name"),
        ("qemu = 8.2", 6, "`=` is not an operator"),
        ("kernel => 99.0", 8, "`=>` is not an operator"),
        ("qemu =< 8.2", 6, "`=<` is not an operator"),
        ("qemu >= 8.2 9", 12, "unexpected ` `"),
        ("qemu >> 8.2", 7, "unexpected `>`"),
        ("qemu version", 5, "space inside fact name"),
        ("qemu$ >= 1", 5, "unexpected `$` in fact name"),
        ("!", 1, "`!` without a fact name"),
        ("c++", 3, "`+` without `NAME-VERSION`"),
        ("-8.2+", 5, "`+` without `NAME-VERSION`"),
        ("kernel-5.1$+", 11, "unexpected `$` in version"),
        ("kvm | qemu >= ", 12, "missing value"),
    ])
    func rejects(text: String, column: Int, problem: String) {
        do {
            _ = try Requirement(parsing: text)
            Issue.record("\"\(text)\" parsed")
        } catch {
            #expect(error.text == text)
            #expect(error.column == column, "\(error)")
            #expect(error.problem.contains(problem), "\(error)")
            #expect(error.description.hasPrefix("invalid requirement \"\(text)\""))
            #expect(error.description.contains("; "), "the message ends with a fix")
        }
    }

    @Test("`=>` and `=<` are read as meant `>=` and `<=`, and the fix says so", arguments: [
        ("kernel => 99.0", "did you mean `>=`? write `kernel >= 99.0`"),
        ("qemu=<8.2", "did you mean `<=`? write `qemu <= 8.2`"),
        ("=> 1", "did you mean `>=`? write `NAME >= 1`"),
    ])
    func swappedOperators(text: String, fix: String) {
        do {
            _ = try Requirement(parsing: text)
            Issue.record("\"\(text)\" parsed")
        } catch {
            #expect(error.fix == fix, "\(error)")
        }
    }
}

/// A fixed set of facts for evaluation tests.
func lookup(_ facts: [String: String?]) -> (String) -> FactLookup {
    { name in
        if let value = facts[name] { return .present(Fact(name: name, value: value, source: "test")) }
        return .absent(reason: "\(name) is not present on this host")
    }
}

@Suite("Requirement evaluation")
struct RequirementCheckTests {
    let host = lookup([
        "root": nil, "kvm": "12", "qemu": "7.2.9", "kernel": "6.1.0-13-amd64", "memory": "25276502016",
        "os": "debian", "windows": "7", "libvirt": "8.10.0", "nested": "N", "cpu-flag:svm": nil,
    ])

    @Test("met", arguments: [
        "root", "kvm", "qemu >= 7.2", "qemu == 7.2.9", "qemu < 8.2", "kernel >= 5.10", "kernel-6.1+",
        "memory >= 8G", "memory < 24G", "memory >= 23.5G", "os == debian", "os != ubuntu", "!virtualized",
        "cpu-flag:vmx | cpu-flag:svm", "windows >= 7", "libvirt > 8.9", "!nested",
    ])
    func met(text: String) throws {
        #expect(try Requirement(parsing: text).check(host) == .met)
    }

    @Test("unmet, with the host's side", arguments: [
        ("qemu >= 8.2", "needs qemu >= 8.2; this host has 7.2.9"),
        ("kernel-99+", "needs kernel-99+; this host has 6.1.0-13-amd64"),
        ("windows-7sp1+", "needs windows-7sp1+; this host has 7"),
        ("libvirt >= 9.0", "needs libvirt >= 9.0; this host has 8.10.0"),
        ("memory >= 64G", "needs memory >= 64G; this host has 23.5G (25276502016 bytes)"),
        ("DELL_R420", "needs DELL_R420; DELL_R420 is not present on this host"),
        ("!kvm", "needs !kvm; this host has kvm = 12"),
        ("nested", "needs nested; nested is N on this host"),
        ("root >= 1", "needs root >= 1; root is present on this host but has no value to compare"),
        ("cpu-flag:vmx | qemu >= 9", "needs cpu-flag:vmx | qemu >= 9; cpu-flag:vmx is not present on this host; this host has 7.2.9"),
    ])
    func unmet(text: String, reason: String) throws {
        let check = try Requirement(parsing: text).check(host)
        guard case .unmet(let observed) = check else { Issue.record("\(text) is met"); return }
        #expect("needs \(text); " + observed.map(\.description).joined(separator: "; ") == reason)
    }

    @Test("what the host showed is kept as values, one per alternative")
    func observations() throws {
        let qemu = Fact(name: "qemu", value: "7.2.9", source: "test")
        let either = try Requirement(parsing: "cpu-flag:vmx | qemu >= 9").check(host)
        #expect(either == .unmet([.absent("cpu-flag:vmx is not present on this host"), .differs(qemu, shown: "7.2.9")]))
        let nested = try Requirement(parsing: "nested").check(host)
        #expect(nested == .unmet([.switchedOff(name: "nested", value: "N")]))
        let notKVM = try Requirement(parsing: "!kvm").check(host)
        #expect(notKVM == .unmet([.present(Fact(name: "kvm", value: "12", source: "test"))]))
        let rootValue = try Requirement(parsing: "root >= 1").check(host)
        #expect(rootValue == .unmet([.noValue(name: "root")]))
    }

    @Test("a promise without a value meets any comparison; with a value it is compared; it never meets !NAME")
    func promises() throws {
        #expect(try Requirement(parsing: "qemu >= 99").alternatives[0].isMet(byPromise: nil))
        #expect(try Requirement(parsing: "qemu >= 8.2").alternatives[0].isMet(byPromise: "9.0"))
        #expect(try !Requirement(parsing: "qemu >= 8.2").alternatives[0].isMet(byPromise: "8.1"))
        #expect(try !Requirement(parsing: "!qemu").alternatives[0].isMet(byPromise: nil))
        #expect(try Requirement(parsing: "qemu").alternatives[0].isMet(byPromise: "1"))
    }
}
