import KernelHealth
import Testing

@Suite("KernelLogRecord: the /dev/kmsg format")
struct KernelLogRecordTests {
    @Test("a header with its continuation lines")
    func parse() throws {
        let text = "6,339,5140900,-;NET: Registered protocol family 10\n SUBSYSTEM=net\n DEVICE=+net:lo\n"
        let record = try #require(KernelLogRecord(parsing: Substring(text)))
        #expect(record.priority == 6 && record.level == 6)
        #expect(record.sequence == 339)
        #expect(record.timestamp == 5_140_900)
        #expect(record.message == "NET: Registered protocol family 10")
        #expect(record.dictionary == ["SUBSYSTEM=net", "DEVICE=+net:lo"])
    }

    @Test("more header fields after the flags (a caller id) are allowed")
    func extraFields() throws {
        let record = try #require(KernelLogRecord(parsing: "4,812,43559333,-,caller=T1;WARNING: CPU: 0 PID: 1 at x.c:1"))
        #expect(record.sequence == 812)
        #expect(record.explainsTaint)
    }

    @Test("escapes: \\x0a is a newline in the message, kept escaped on the dmesg line")
    func escapes() throws {
        let record = try #require(KernelLogRecord(parsing: "4,1,1000,-;line one\\x0aline two \\x5c done"))
        #expect(record.message == "line one\nline two \\ done")
        #expect(record.dmesgLine == "[    0.001000] <4> line one\\x0aline two \\x5c done")
        #expect(!record.dmesgLine.contains("\n"))
    }

    @Test("the dmesg line pads seconds to five places and microseconds to six")
    func dmesgLine() {
        let record = KernelLogRecord(priority: 4, sequence: 1, timestamp: 43_559_333, escapedMessage: "hello")
        #expect(record.dmesgLine == "[   43.559333] <4> hello")
        let late = KernelLogRecord(priority: 3, sequence: 2, timestamp: 123_456_000_007, escapedMessage: "x")
        #expect(late.dmesgLine == "[123456.000007] <3> x")
    }

    @Test("not a record: no semicolon, too few numbers, a word for a number", arguments: [
        "hello", "4,1;x", "4,x,1,-;x", "", " SUBSYSTEM=net", "-1,1,1,-;x",
    ])
    func malformed(text: String) {
        #expect(KernelLogRecord(parsing: Substring(text)) == nil)
    }

    @Test("the lines that explain a taint: warnings, BUGs, oopses, lockups, call traces; not ordinary lines")
    func explains() {
        for message in ["WARNING: CPU: 1 PID: 9 at mm/x.c:3 f+0x1/0x2", "BUG: kernel NULL pointer dereference, address: 0",
                        "Oops: 0002 [#1] PREEMPT SMP", "watchdog: BUG: soft lockup - CPU#0 stuck for 22s!", "Call Trace:"] {
            #expect(KernelLogRecord(priority: 4, sequence: 1, timestamp: 0, escapedMessage: message).explainsTaint, "\(message)")
        }
        #expect(!KernelLogRecord(priority: 6, sequence: 1, timestamp: 0, escapedMessage: "eth0: link up").explainsTaint)
    }
}
