@testable import Declarations
@testable import HostFacts
@testable import Requirements
import Testing

/// `lower < higher` for every pair, and the reverse is false.
let ascendingPairs: [(String, String)] = [
    // DESIGN.md's own examples
    ("9.0.0-rc1", "9.0.0"),
    ("9.0.0", "9.0.0-13-amd64"),
    ("9.0.0-rc1", "9.0.0-13-amd64"),
    ("7", "7sp1"),
    ("8.9", "8.10.0"),
    ("2013-10-24", "2013-10-25"),
    ("1.0~rc1", "1.0"),
    // numbers compare as numbers, not text
    ("8.2", "8.10"),
    ("1.9", "1.10"),
    ("2", "10"),
    ("0.9.9", "1"),
    ("99999999999999999998", "99999999999999999999"),
    ("1.2.3", "1.2.4"),
    ("1.2", "1.2.1"),
    // pre-release markers sort below the release, in order
    ("1.0-alpha", "1.0-beta"),
    ("1.0-beta", "1.0-pre"),
    ("1.0-pre", "1.0-rc"),
    ("1.0-rc1", "1.0-rc2"),
    ("1.0-rc9", "1.0-rc10"),
    ("8.2.0-rc4", "8.2.0"),
    ("9.0.0-RC1", "9.0.0"),
    ("1.0alpha1", "1.0"),
    ("6.8-rc7", "6.8"),
    // tilde sorts below everything, even the end (Debian)
    ("1.0~~", "1.0~"),
    ("1.0~", "1.0"),
    ("1.0~beta", "1.0~rc"),
    ("7.2~rc1+dfsg", "7.2"),
    // letters the other side lacks sort above the end
    ("7sp1", "7sp2"),
    ("1.0", "1.0a"),
    ("1.0", "1.0-13"),
    ("1.0-2", "1.0-13"),
    // kernel releases from several distros
    ("5.10.0-26-amd64", "6.1.0-13-amd64"),
    ("6.1.0-13-amd64", "6.1.0-17-amd64"),
    ("5.15.0-91-generic", "5.15.0-101-generic"),
    ("5.14.0-284.11.1.el9_2.x86_64", "5.14.0-362.8.1.el9_3.x86_64"),
    ("4.18.0-513.5.1.el8_9.x86_64", "5.14.0-70.13.1.el9_0.x86_64"),
    ("6.5.6-300.fc39.x86_64", "6.6.8-200.fc39.x86_64"),
    ("6.6.8-arch1-1", "6.7.1-arch1-1"),
    ("5.10", "5.10.0-26-amd64"),
    ("3.10.0-1160.el7.x86_64", "3.10.0-1160.105.1.el7.x86_64"),
    ("6.2.0-1015-azure", "6.5.0-1004-azure"),
    // QEMU and libvirt
    ("7.2.9", "8.2"),
    ("8.2.2", "9.0.0"),
    ("8.10.0", "9.0"),
    ("1:7.2+dfsg-7", "1:8.2+dfsg-1"),
    ("9.0.0", "9.1.0-rc0"),
    ("9.1.0-rc0", "9.1.0"),
    // Debian epochs: compared first, as numbers; none is epoch 0
    ("7.2", "1:7.2+dfsg-7+deb12u18"),
    ("8.2", "1:7.2+dfsg-7"),
    ("99.0", "1:0.1"),
    ("1:7.2+dfsg-7+deb12u18", "1:7.2+dfsg-7+deb12u19"),
    ("1:9.9", "2:0.1"),
    ("9:1.0", "10:0.1"),
    ("1:1.0", "1:1.0-1"),
    ("1:2", "1:10"),
    ("1:1.0~rc1", "1:1.0"),
    ("a:5", "1:0"),
    ("1:", "2"),
    ("12", "1:0"),
    // dates and odd tags
    ("2013-10-24", "2014-01-01"),
    ("windows-7", "windows-7sp1"),
]

let equalPairs: [(String, String)] = [
    ("8.2", "8.2.0"),
    ("8.2", "8.2.0.0"),
    ("9.0.0-rc1", "9-rc1"),
    ("08.02", "8.2"),
    ("1_2", "1.2"),
    ("1-2", "1.2"),
    ("1+2", "1.2"),
    ("Y", "Y"),
    ("2013-10-24", "2013.10.24"),
    ("7sp1", "7.sp1"),
    ("0:7.2", "7.2"),
    ("01:7.2", "1:7.2.0"),
    ("1:", "1"),
    ("5:", "5.0"),
    (":5", "5"),
]

@Suite("Version ordering")
struct VersionTests {
    @Test("lower < higher", arguments: ascendingPairs)
    func ascending(lower: String, higher: String) {
        #expect(Version(lower) < Version(higher))
        #expect(!(Version(higher) < Version(lower)))
        #expect(Version(lower) != Version(higher))
        #expect(Version.compare(Version(higher), Version(lower)) == 1)
    }

    @Test("equal versions", arguments: equalPairs)
    func equal(a: String, b: String) {
        #expect(Version(a) == Version(b))
        #expect(Version.compare(Version(a), Version(b)) == 0)
        #expect(Version(a).hashValue == Version(b).hashValue)
    }

    @Test("at least 40 ordering cases")
    func enoughCases() {
        #expect(ascendingPairs.count + equalPairs.count >= 40)
    }

    @Test("a Debian version with an epoch meets what its upstream version meets, as dpkg compares", arguments: [
        ("qemu-deb >= 7.2", true), ("qemu-deb > 7.2", true), ("qemu-deb >= 1:7.2", true), ("qemu-deb < 1:7.3", true),
        ("qemu-deb >= 1:7.3", false), ("qemu-deb >= 2:0", false), ("qemu-deb == 7.2", false), ("qemu-deb-7.2+", true),
    ])
    func epochRequirement(requirement: String, met: Bool) throws {
        let lookup: (String) -> FactLookup = { name in
            .present(Fact(name: name, value: "1:7.2+dfsg-7+deb12u18", source: "dpkg-query"))
        }
        #expect(try Requirement(parsing: requirement).check(lookup).isMet == met)
    }

    @Test("the epoch is a leading run of digits before `:` with text after it", arguments: [
        ("1:7.2+dfsg-7", "1", "7.2+dfsg-7"), ("0010:1", "10", "1"), ("0:0", "0", "0"), ("1:", "0", "1:"),
        ("1::", "1", ":"), (":1", "0", ":1"), ("a1:2", "0", "a1:2"), ("12:30:00", "12", "30:00"), ("", "0", ""),
    ])
    func epochSplit(text: String, epoch: String, rest: String) {
        let split = Version.splitEpoch(text)
        #expect(split.epoch == epoch)
        #expect(split.rest == rest)
    }

    @Test("sorting a shuffled list gives the documented order")
    func sortOrder() {
        let expected = ["9.0.0~rc1", "9.0.0-alpha", "9.0.0-rc1", "9.0.0", "9.0.0a", "9.0.0-13-amd64", "9.0.1", "9.1", "10"]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            let sorted = expected.shuffled(using: &generator).map(Version.init).sorted().map(\.text)
            #expect(sorted == expected)
        }
    }

    @Test("the order is total: antisymmetric and transitive on a mixed set")
    func totalOrder() {
        let samples = (ascendingPairs.flatMap { [$0.0, $0.1] } + equalPairs.flatMap { [$0.0, $0.1] }
            + ["", "~", "0", "a", "1.a", "1.0.1", "0.0", "rc", "~rc", "1..2", "x86_64", "1:", "0:", "2:1", "1:~", "10:0"]).map(Version.init)
        for a in samples {
            for b in samples {
                #expect(Version.compare(a, b) == -Version.compare(b, a))
                for c in samples where Version.compare(a, b) <= 0 && Version.compare(b, c) <= 0 {
                    #expect(Version.compare(a, c) <= 0, "\(a) <= \(b) <= \(c)")
                }
            }
        }
    }
}

@Suite("Sizes")
struct SizeTests {
    static let gib: Double = 1_073_741_824
    static let cases: [(String, Double, Bool)] = [
        ("8G", 8 * gib, true),
        ("8GiB", 8 * gib, true),
        ("8GB", 8 * gib, true),
        ("8 Gi", 8 * gib, true),
        ("512M", 512 * 1_048_576, true),
        ("1.5T", 1.5 * 1024 * gib, true),
        ("64k", 64 * 1024, true),
        ("4096", 4096, false),
        ("100B", 100, true),
    ]

    @Test(arguments: cases)
    func parses(text: String, bytes: Double, hasUnit: Bool) throws {
        let size = try #require(Size(parsing: text))
        #expect(size.bytes == bytes)
        #expect(size.hasUnit == hasUnit)
    }

    @Test(arguments: ["", "G", "eight", "8X", "8.2.0", "-1G", "8 GG"])
    func rejects(text: String) {
        #expect(Size(parsing: text) == nil)
    }

    @Test func describes() {
        #expect(Size(bytes: 25_276_502_016).description == "23.5G")
        #expect(Size(bytes: 64 * 1024 * 1024 * 1024).description == "64G")
        #expect(Size(bytes: 1000).description == "1000")
    }
}
