import Foundation
import TidemarkCore

/// What the HTML pages share: escaping, the frame (inline style, inline script, a Content
/// Security Policy that forbids every network request) and colours. Pure; thread-safe.
enum HTMLPage {
    /// Escapes text for an element body or a double-quoted attribute.
    static func escape(_ text: String) -> String {
        // Byte by byte: the five are ASCII, and a run page of 100,000 targets escaped by
        // `Character` (grapheme breaking) spent most of a runner's last minute here
        // (docs/tenants.md#measurements). A quote followed by a combining mark is escaped too.
        let utf8 = text.utf8
        guard utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 }) else {
            return text
        }
        var escaped: [UInt8] = []
        escaped.reserveCapacity(utf8.count + 16)
        for byte in utf8 {
            switch byte {
            case 0x26: escaped.append(contentsOf: "&amp;".utf8)
            case 0x3C: escaped.append(contentsOf: "&lt;".utf8)
            case 0x3E: escaped.append(contentsOf: "&gt;".utf8)
            case 0x22: escaped.append(contentsOf: "&quot;".utf8)
            case 0x27: escaped.append(contentsOf: "&#39;".utf8)
            default: escaped.append(byte)
            }
        }
        return String(decoding: escaped, as: UTF8.self)
    }

    /// One self-contained document: `default-src 'none'` makes the browser refuse any request
    /// the page could make (and say so on the console), so a report opened from a mail or a
    /// CI artifact never calls out.
    static func document(title: String, style: String, body: String, script: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
        <title>\(escape(title))</title>
        <style>\(baseStyle)\(style)</style>
        </head>
        <body>
        \(body)
        <script>\(script)</script>
        </body>
        </html>

        """
    }

    static let baseStyle = """
        :root{--ok:#2e9d57;--same:#9db8a6;--fail:#d7263d;--block:#f0a202;--skip:#b9bec7;--lock:#8e44ad;--int:#e4572e;--ink:#1d2330;--mute:#667085;--line:#e4e7ec}
        *{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--ink);margin:0;padding:20px 28px;background:#fafbfc}
        h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:26px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}h3{font-size:14px;margin:14px 0 6px}
        .meta{color:var(--mute);margin:0 0 10px}.meta b{color:var(--ink);font-weight:600}
        .chips{display:flex;flex-wrap:wrap;gap:6px;margin:8px 0}.chip{border-radius:12px;padding:2px 10px;color:#fff;font-weight:600;font-size:13px;cursor:pointer;user-select:none}
        .chip.off{opacity:.3}.badge{display:inline-block;border-radius:4px;padding:1px 8px;color:#fff;font-weight:700;font-size:13px;vertical-align:2px}
        table{border-collapse:collapse;width:100%;background:#fff;font-size:13px}th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}th{background:#f2f4f7}
        td.why{max-width:720px;word-break:break-word}code{font:12px ui-monospace,Menlo,Consolas,monospace}
        .grid{display:flex;flex-wrap:wrap;gap:3px;margin:4px 0 10px}.cell{width:14px;height:14px;border-radius:2px;display:inline-block;cursor:pointer}
        .grid.named .cell{width:auto;height:auto;padding:1px 6px;color:#fff;font-size:12px;border-radius:3px}
        .cell.dim{opacity:.15}#detail{position:fixed;right:16px;bottom:16px;max-width:480px;background:#fff;border:1px solid var(--line);box-shadow:0 4px 16px #0002;padding:10px 14px;border-radius:6px;display:none;white-space:pre-wrap;font-size:13px}
        .empty{color:var(--mute);font-style:italic}.legend{color:var(--mute);font-size:12px}svg text{font:11px system-ui,sans-serif;fill:var(--mute)}

        """

    /// The colour of an outcome, as a CSS variable.
    static func colour(_ outcome: Outcome) -> String {
        switch outcome {
        case .succeeded: return "var(--ok)"
        case .unchanged: return "var(--same)"
        case .failed: return "var(--fail)"
        case .blocked: return "var(--block)"
        case .skipped, .deferred: return "var(--skip)"
        case .locked: return "var(--lock)"
        case .interrupted: return "var(--int)"
        }
    }

    /// `2.4 s`, `3 min 5 s`, `1 h 2 min`.
    static func duration(_ seconds: Double) -> String {
        if seconds < 60 { return DurationText.seconds(seconds) }
        let whole = Int(seconds.rounded())
        if whole < 3600 { return "\(whole / 60) min \(whole % 60) s" }
        return "\(whole / 3600) h \(whole % 3600 / 60) min"
    }

    /// Shows a cell's `data-detail` in the corner panel on click; outcome chips dim the cells of
    /// other outcomes. No request, no console output.
    static let script = """
        (function(){var d=document.getElementById('detail');
        document.addEventListener('click',function(e){var c=e.target.closest('[data-detail]');
        if(c){d.textContent=c.getAttribute('data-detail');d.style.display='block';return;}
        var k=e.target.closest('.chip[data-outcome]');if(k){k.classList.toggle('off');
        var off={};document.querySelectorAll('.chip.off[data-outcome]').forEach(function(x){off[x.getAttribute('data-outcome')]=1;});
        document.querySelectorAll('.cell[data-outcome]').forEach(function(x){x.classList.toggle('dim',!!off[x.getAttribute('data-outcome')]);});return;}
        d.style.display='none';});})();
        """
}
