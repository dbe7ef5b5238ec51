import Foundation

extension DashboardData {
    /// One host of a Slurm grid as the dashboard's Hosts section shows it (`testbed serve --grid slurm`): its
    /// status from Slurm, its features, when it was enrolled, its latest run.
    public struct HostRow: Sendable, Hashable {
        /// The node's name.
        public var name: String
        /// `online`, `offline` or `halted`.
        public var status: String
        /// Slurm's reason (a halted node's drain reason, an offline node's down reason); nil when none.
        public var reason: String?
        /// When the reason was set; nil when unknown.
        public var since: Date?
        /// The run whose failed setup halted the node (Testbed's reason form); nil otherwise.
        public var haltedBy: String?
        /// The node's available features.
        public var features: [String]
        /// When it was last enrolled; nil when it never was.
        public var enrolled: Date?
        /// Its latest run's id; nil when it recorded none.
        public var latestRun: String?

        /// A row.
        ///
        /// - Parameters:
        ///   - name: the node's name.
        ///   - status: `online`, `offline` or `halted`.
        ///   - reason: Slurm's reason.
        ///   - since: when it was set.
        ///   - haltedBy: the run that halted it.
        ///   - features: its features.
        ///   - enrolled: when it was enrolled.
        ///   - latestRun: its latest run.
        public init(name: String, status: String, reason: String? = nil, since: Date? = nil, haltedBy: String? = nil,
                    features: [String] = [], enrolled: Date? = nil, latestRun: String? = nil) {
            self.name = name
            self.status = status
            self.reason = reason
            self.since = since
            self.haltedBy = haltedBy
            self.features = features
            self.enrolled = enrolled
            self.latestRun = latestRun
        }
    }
}

extension DashboardPage {
    /// The grid's hosts (only when `data.hosts` is set): each node's status, reason, since, the run that halted it,
    /// features, enrolment and latest run.
    var hostsSection: Markup {
        if let problem = data.hostsProblem {
            return Tag.element("section", ["id": "hosts"], [Tag.element("h2", text: "Hosts"), Tag.element("p", ["class": "muted"], text: problem)])
        }
        guard let hosts = data.hosts else { return .empty }
        let counts = ["online", "halted", "offline"].compactMap { word -> String? in
            let count = hosts.filter { $0.status == word }.count
            return count > 0 ? "\(count) \(word)" : nil
        }
        let rows = hosts.map { host in
            Tag.element("tr", ["data-host": host.name], [
                Tag.element("td", [:], [Tag.element("code", text: host.name)]),
                Tag.element("td", ["class": "h-" + host.status], text: host.status),
                Tag.element("td", [:], text: host.reason ?? "-"),
                Tag.element("td", [:], text: host.since.map(Self.date) ?? "-"),
                Tag.element("td", [:], [host.haltedBy.map(runReference) ?? Tag.text("-")]),
                Tag.element("td", [:], text: host.features.isEmpty ? "-" : host.features.joined(separator: ", ")),
                Tag.element("td", [:], text: host.enrolled.map(Self.date) ?? "not enrolled"),
                Tag.element("td", [:], [host.latestRun.map(runReference) ?? Tag.text("-")]),
            ])
        }
        let header = ["host", "status", "reason", "since", "halted by run", "features", "enrolled", "latest run"]
        return Tag.element("section", ["id": "hosts"], [
            Tag.element("h2", text: "Hosts (\(hosts.count))"),
            hosts.isEmpty ? Tag.element("p", ["class": "muted"], text: "The grid has no nodes.")
                : Tag.element("p", ["class": "muted"], text: counts.joined(separator: ", ")
                    + " · a halted host takes no job until `testbed hosts resume NODE`"),
            hosts.isEmpty ? .empty : Tag.element("table", ["id": "hosts-table"],
                [Tag.element("tr", [:], header.map { Tag.element("th", text: $0) })] + rows),
        ])
    }

    /// A run id as a link to its run directory: the column's when the run is shown, else the directory named after it.
    func runReference(_ id: String) -> Markup {
        let link = data.runs.first { $0.id == id }.map(runLink) ?? linkBase + Self.pathEncoded(id) + "/"
        return Tag.element("a", ["href": link], [Tag.element("code", text: id)])
    }
}
