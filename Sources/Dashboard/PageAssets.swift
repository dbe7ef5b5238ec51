/// The page's inline style sheet and script: no file, font or script is loaded from anywhere.
enum PageAssets {
    /// The style sheet (system fonts only).
    static let css = """
    :root{--pass:#2da44e;--fail:#cf222e;--timeout:#a40e26;--error:#8250df;--skip:#8c959f;--unsupported:#d0d7de;\
    --blocked:#e16f24;--interrupted:#57606a;--none:#f6f8fa;--line:#d0d7de;--muted:#57606a}
    *{box-sizing:border-box}
    body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;padding:16px 24px;color:#1f2328;background:#fff}
    h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
    h3{font-size:15px;margin:16px 0 6px}.muted{color:var(--muted)}code,.id,.mono{font-family:ui-monospace,monospace;font-size:13px}
    header{display:flex;flex-wrap:wrap;align-items:flex-end;gap:12px;justify-content:space-between}
    #filter{font:inherit;padding:6px 10px;width:320px;border:1px solid var(--line);border-radius:6px}
    .cards{display:flex;flex-wrap:wrap;gap:12px;margin:8px 0}.card{border:1px solid var(--line);border-radius:8px;padding:10px 14px;min-width:200px}
    .card .big{font-size:26px;font-weight:600}.card.bad{border-color:var(--fail);background:#ffebe9}.card.lab{border-color:var(--blocked);background:#fff1e5}
    .card.good{border-color:var(--pass);background:#dafbe1}
    table{border-collapse:collapse;margin:4px 0 8px}th,td{text-align:left;padding:3px 10px 3px 0;vertical-align:top}
    th{font-weight:600;border-bottom:1px solid var(--line)}tr.reg td{border-bottom:1px solid #eee}
    .o-pass{color:var(--pass)}.o-fail,.o-timeout,.o-error{color:var(--fail);font-weight:600}.o-blocked{color:var(--blocked)}\
    .h-online{color:var(--pass)}.h-offline{color:var(--fail);font-weight:600}.h-halted{color:var(--blocked);font-weight:600}
    ul.changes{margin:2px 0;padding-left:18px}pre.reason{margin:0;white-space:pre-wrap;font-size:12px}
    details.group{border-top:1px solid #eee}details.group>summary{cursor:pointer;padding:4px 0}
    .strips td{padding:1px 8px 1px 0}
    tr.variants td{padding-top:4px;font-weight:600}td.variant{padding-left:16px}.strip{display:inline-flex;gap:1px;vertical-align:middle}
    .c{display:inline-block;width:8px;height:16px;border-radius:1px;background:var(--none);outline:1px solid #eaeef2}
    .c.p{background:var(--pass)}.c.f{background:var(--fail)}.c.t{background:var(--timeout)}.c.e{background:var(--error)}
    .c.s{background:var(--skip)}.c.u{background:var(--unsupported)}.c.b{background:var(--blocked)}.c.i{background:var(--interrupted)}
    a.c:hover,a.c:focus{outline:2px solid #0969da}
    .legend{display:flex;flex-wrap:wrap;gap:12px;margin:4px 0 8px}.legend span.k{display:inline-flex;align-items:center;gap:4px}
    .hidden{display:none}svg{vertical-align:middle}
    """

    /// The script: status-strip cells made when their group opens (one link per cell, to that run's
    /// log), and the filter box (which opens the groups holding a match when there are at most 2,000
    /// matching rows; `#filter=TEXT` in the page's address fills it in). Runs with the page; nothing is fetched.
    static let script = """
    (function(){
    var runs=JSON.parse(document.getElementById('tb-runs').textContent);
    var names={p:'pass',f:'fail',t:'timeout',e:'error',s:'skip',u:'unsupported',b:'blocked',i:'interrupted','-':'not in this run'};
    function fill(row){var s=row.querySelector('.strip');if(!s||s.getAttribute('data-done'))return;s.setAttribute('data-done','1');
    var o=s.getAttribute('data-o'),l=row.getAttribute('data-l'),f=document.createDocumentFragment();
    for(var i=0;i<o.length&&i<runs.length;i++){var c=o.charAt(i),k=c.toLowerCase(),e;
    if(c!==k&&l){e=document.createElement('a');e.href=runs[i].d+'/'+l+'/output.log';}else{e=document.createElement('span');}
    e.className='c '+(k==='-'?'n':k);e.title=runs[i].t+': '+(names[k]||k);e.setAttribute('aria-label',e.title);f.appendChild(e);}
    s.appendChild(f);}
    function fillGroup(d){var rows=d.querySelectorAll('tr[data-t]');for(var i=0;i<rows.length;i++)fill(rows[i]);}
    var groups=document.querySelectorAll('details.group');
    for(var g=0;g<groups.length;g++){(function(d){if(d.open)fillGroup(d);d.addEventListener('toggle',function(){if(d.open)fillGroup(d);});})(groups[g]);}
    var box=document.getElementById('filter');
    function filter(){var q=box.value.trim().toLowerCase();
    var rows=document.querySelectorAll('tr[data-t]'),hits=0;
    for(var i=0;i<rows.length;i++){var hit=!q||rows[i].getAttribute('data-t').toLowerCase().indexOf(q)>=0;
    rows[i].classList.toggle('hidden',!hit);if(hit)hits++;}
    for(var j=0;j<groups.length;j++){var d=groups[j];var any=d.querySelector('tr[data-t]:not(.hidden)');
    d.classList.toggle('hidden',!!q&&!any);if(q&&any&&!d.open&&hits<=2000)d.open=true;}}
    if(box){box.addEventListener('input',filter);
    if(location.hash.indexOf('#filter=')===0){box.value=decodeURIComponent(location.hash.slice(8));filter();}}
    })();
    """
}
