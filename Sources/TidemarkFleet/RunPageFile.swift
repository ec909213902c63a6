import Foundation
import TidemarkCore
import TidemarkFiles
import TidemarkObserve

/// Writes a run's page: readable by its owner only, like the JSON report (it names targets and errors).
package enum RunPageFile {
    package static func write(_ report: RunReport, to url: URL) throws {
        try OwnerOnlyFile.write(to: url) { file in
            try RunPage.emit(report) { piece in try file.write(contentsOf: Data(piece.utf8)) }
        }
    }
}
