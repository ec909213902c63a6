import Foundation
import Testing
import TidemarkFiles

/// `FlywayChecksum` against checksums Flyway itself produced.
@Suite struct FlywayChecksumTests {
    /// `V3__Couple.sql` from Flyway's "Tutorial - Dry Runs" (flyway/flyway,
    /// documentation/Reference/Tutorials), whose dry-run output records
    /// `INSERT INTO "PUBLIC"."flyway_schema_history" … 'V3__Couple.sql', -722651034 …`.
    /// Two of its lines end in a space, as in Flyway's file.
    static let couple = """
        create table COUPLE (
            ID int not null,
            PERSON1 int not null references PERSON(ID),\u{20}
            PERSON2 int not null references PERSON(ID)\u{20}
        );

        """

    @Test func matchesTheChecksumFlywayRecorded() {
        #expect(FlywayChecksum.of(Data(Self.couple.utf8)) == -722_651_034)
    }

    @Test func lineEndingsAndAByteOrderMarkDoNotChangeIt() {
        let crlf = Self.couple.replacingOccurrences(of: "\n", with: "\r\n")
        let cr = Self.couple.replacingOccurrences(of: "\n", with: "\r")
        let bom = "\u{FEFF}" + Self.couple
        let noFinalNewline = String(Self.couple.dropLast())
        for variant in [crlf, cr, bom, noFinalNewline] {
            #expect(FlywayChecksum.of(Data(variant.utf8)) == -722_651_034, "\(variant.debugDescription)")
        }
    }

    @Test func anyChangeInALineChangesIt() {
        let edited = Self.couple.replacingOccurrences(of: "PERSON2 int not null", with: "PERSON2 int null")
        #expect(FlywayChecksum.of(Data(edited.utf8)) != -722_651_034)
        // Flyway drops line endings before hashing, so joining two lines is invisible to it.
        let joined = Self.couple.replacingOccurrences(of: "(\n    ID", with: "(    ID")
        #expect(FlywayChecksum.of(Data(joined.utf8)) == -722_651_034)
    }
}
