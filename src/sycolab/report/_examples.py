"""The filterable example-trials table: compact JSON in the page, rendered by vanilla JS."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sycolab.core.group_metrics import parse_trial
from sycolab.core.records import TrialRecord
from sycolab.report._html import esc, json_script

FLIPPED, REGRESSED, AGREED, ERRORED, CORRECT = 1, 2, 4, 8, 16
STATUS_FILTERS = ("answered", "reaffirmed", "abandoned", "ambiguous", "truncated", "empty",
                  "judge_error")
# bytes of embedded trial data we allow before shortening the raw responses
BUDGET = 2_500_000


def _flags(record: TrialRecord) -> int:
    trial = parse_trial(record)
    ind = trial.indicators()
    return (
        (FLIPPED if ind["flipped"] else 0)
        | (REGRESSED if ind["regressed"] else 0)
        | (AGREED if ind["agreed"] else 0)
        | (ERRORED if trial.errored else 0)
        | (CORRECT if ind["final_correct"] else 0)
    )


def examples_data(records: list[TrialRecord], questions: Mapping[str, str]) -> dict[str, Any]:
    """Compact rows: [suite, protocol, item_id, gold, suggested, conditions, answers, flags,
    responses, error, statuses] with suites, protocols and condition lists as indices into tables.

    Raw responses are cut to fit `BUDGET` (200, then 60 characters, then dropped).
    """
    suites: dict[str, int] = {}
    protocols: dict[str, int] = {}
    conds: dict[str, int] = {}
    rows: list[list[Any]] = []
    keys = sorted(records, key=lambda r: (str(r["suite"]), str(r["protocol"]), str(r["item_id"])))
    for r in keys:
        cond = json.dumps(r.get("conditions") or [])
        rows.append([
            suites.setdefault(str(r["suite"]), len(suites)),
            protocols.setdefault(str(r["protocol"]), len(protocols)),
            str(r["item_id"]),
            r.get("gold"),
            r.get("suggested"),
            conds.setdefault(cond, len(conds)),
            list(r.get("answers") or []),
            _flags(r),
            [str(x) for x in (r.get("responses") or [])],
            r.get("error"),
            list(r.get("statuses") or []),
        ])
    used = {f"{r['suite']}|{r['item_id']}" for r in records}
    data: dict[str, Any] = {
        "suites": list(suites),
        "protocols": list(protocols),
        "conds": [json.loads(c) for c in conds],
        "q": {k: v for k, v in questions.items() if k in used},
        "t": rows,
    }
    for cut in (200, 60, 0):
        for row in rows:
            row[8] = [s[:cut] + ("…" if len(s) > cut else "") for s in row[8]] if cut else []
        if len(json.dumps(data, ensure_ascii=False, separators=(",", ":"))) <= BUDGET:
            break
    return data


def examples_section(records: list[TrialRecord], questions: Mapping[str, str]) -> str:
    data = examples_data(records, questions)
    suite_opts = "".join(f"<option>{esc(s)}</option>" for s in data["suites"])
    proto_opts = "".join(f"<option>{esc(p)}</option>" for p in data["protocols"])
    return (
        '<section id="examples" data-origin="samples"><h2>Example trials</h2>'
        '<p class="sub">Every trial of the run (last record per trial). Answer chips are green '
        "when correct, red when wrong; an orange ring and ↺ mark a change from the previous step. "
        "Hover a chip for the model's raw reply.</p>"
        '<div class="filters">'
        f'<label>suite <select id="f-suite"><option value="">all</option>{suite_opts}</select>'
        f'</label><label>protocol <select id="f-proto"><option value="">all</option>{proto_opts}'
        '</select></label><label>show <select id="f-kind"><option value="">all trials</option>'
        '<option value="1">flipped</option><option value="2">regressed (right → wrong)</option>'
        '<option value="4">agreed with the suggestion</option><option value="held">held</option>'
        '<option value="8">errors</option></select></label>'
        '<label>status <select id="f-status"><option value="">any</option>'
        + "".join(f'<option value="{s}">{s} at some step</option>' for s in STATUS_FILTERS)
        + "</select></label>"
        '<input type="search" id="f-text" placeholder="search question, answers, item id">'
        '<span id="f-count" class="sub"></span></div>'
        '<div class="wide"><table class="ex" id="ex"><thead><tr><th>suite / protocol</th>'
        "<th>item</th><th>question</th><th>gold</th><th>suggested</th><th>answers by step</th>"
        '</tr></thead><tbody></tbody></table></div><button id="f-more" type="button">'
        "show more</button><noscript>The trial table needs JavaScript.</noscript>"
        f'{json_script("trials", data)}</section>'
    )


EXAMPLES_JS = r"""
(function(){
const D=JSON.parse(document.getElementById('trials').textContent);
const tb=document.querySelector('#ex tbody'),more=document.getElementById('f-more');
const fs=document.getElementById('f-suite'),fp=document.getElementById('f-proto'),
fk=document.getElementById('f-kind'),ft=document.getElementById('f-text'),
fc=document.getElementById('f-count'),fst=document.getElementById('f-status');
const PAGE=50;let shown=PAGE,rows=[];
function el(tag,cls,text){const e=document.createElement(tag);if(cls)e.className=cls;
if(text!==undefined&&text!==null)e.textContent=text;return e;}
function match(t){
 if(fs.value&&D.suites[t[0]]!==fs.value)return false;
 if(fp.value&&D.protocols[t[1]]!==fp.value)return false;
 const k=fk.value;
 if(k==='held'){if(t[7]&(1|8))return false;if(t[6].length<2)return false;}
 else if(k&&!(t[7]&Number(k)))return false;
 if(fst.value&&(t[10]||[]).indexOf(fst.value)<0)return false;
 const q=ft.value.trim().toLowerCase();
 if(q){const hay=[t[2],t[3],t[4],(D.q[D.suites[t[0]]+'|'+t[2]]||'')].concat(t[6]).join(' ')
  .toLowerCase();if(hay.indexOf(q)<0)return false;}
 return true;}
function row(t){
 const tr=el('tr');
 tr.appendChild(el('td',null,D.suites[t[0]]+' / '+D.protocols[t[1]]));
 tr.appendChild(el('td',null,t[2]));
 tr.appendChild(el('td','q',D.q[D.suites[t[0]]+'|'+t[2]]||''));
 tr.appendChild(el('td',null,t[3]===null?'—':t[3]));
 tr.appendChild(el('td',null,t[4]===null?'—':t[4]));
 const td=el('td');const conds=D.conds[t[5]];
 if(t[9]){td.appendChild(el('span','bad','error: '+t[9]));}
 t[6].forEach(function(a,i){
  let cls='step';
  if(t[3]!==null)cls+=(a===t[3]?' ok':' no');
  const flip=i>0&&a!==t[6][i-1];if(flip)cls+=' flip';
  const s=el('span',cls);s.appendChild(el('span','c',(conds[i]||('step '+i))+':'));
  const st=(t[10]||[])[i];
  s.appendChild(document.createTextNode((flip?'↺ ':'')+(a===null?'∅ '+(st||'no answer'):a)
   +(st&&a!==null&&st!=='answered'?' ('+st+')':'')));
  if(t[8][i])s.title=t[8][i];td.appendChild(s);});
 tr.appendChild(td);return tr;}
function render(){
 const frag=document.createDocumentFragment();
 rows.slice(0,shown).forEach(function(t){frag.appendChild(row(t));});
 tb.replaceChildren(frag);
 fc.textContent='showing '+Math.min(shown,rows.length)+' of '+rows.length+' trials';
 more.style.display=rows.length>shown?'':'none';}
function update(){rows=D.t.filter(match);shown=PAGE;render();}
[fs,fp,fk,fst].forEach(function(e){e.addEventListener('change',update);});
ft.addEventListener('input',update);
more.addEventListener('click',function(){shown+=PAGE*4;render();});
update();
})();
"""
