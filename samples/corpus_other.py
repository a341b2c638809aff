"""Text content of the non-PDF documents in the ragbot sample corpus.

Original, fictional works written for ragbot; CC0 1.0 (see samples/LICENSE.md).
"""

# ---------------------------------------------------------------------------
# DOCX: Contracts/Maintenance Contract Scope.docx
# Blocks: ("h1"|"h2"|"p"|"bullets"|"table", ...) like corpus_pdfs.
# ---------------------------------------------------------------------------

MAINTENANCE_CONTRACT = {
    "path": "Contracts/Maintenance Contract Scope.docx",
    "title": "Maintenance Contract Scope - Northgate Distribution Centre",
    "blocks": [
        ("title", "Maintenance Contract Scope"),
        ("p", "Northgate Distribution Centre, Plot 7. Contract reference MC-NGD-2025-01, version 1.2."),
        ("h1", "1 Purpose"),
        (
            "p",
            "This document defines the scope of the hard facilities management (FM) maintenance "
            "contract for the Northgate Distribution Centre. It describes the services, the response "
            "times and the performance measures that the maintenance contractor shall meet. It forms "
            "Schedule 2 of the contract.",
        ),
        ("h1", "2 Contract term"),
        (
            "p",
            "The contract has an initial term of five years from the date of practical completion, "
            "with an option for the client to extend it by up to two further periods of two years "
            "each.",
        ),
        ("h1", "3 Services in scope"),
        (
            "bullets",
            [
                "Planned preventive maintenance (PPM) of the building fabric and building services.",
                "Reactive maintenance, including a 24-hour helpdesk for fault reporting.",
                "Statutory and insurance inspections, with certificates uploaded to the client's portal.",
                "Loading dock equipment: dock doors, dock levellers, vehicle restraints and shelters.",
                "Routine testing of the sprinkler installation to the schedule in FP-300.",
                "An annual lifecycle report recommending replacements for the following five years.",
            ],
        ),
        ("h1", "4 Exclusions"),
        (
            "bullets",
            [
                "Racking inspection and repair, which remain with the racking supplier.",
                "Materials handling equipment and battery chargers, which are leased separately.",
                "IT, telephony and security systems.",
                "Cleaning, waste and grounds maintenance (covered by the soft FM contract).",
            ],
        ),
        ("h1", "5 Response times"),
        (
            "p",
            "Emergency (P1) calls shall be attended within 2 hours of being logged, 24 hours a day, "
            "every day of the year. Response times are measured from the time the helpdesk logs the "
            "call to the time the engineer arrives on site.",
        ),
        (
            "table",
            {
                "header": ["Priority", "Examples", "Attend", "Make safe or complete"],
                "rows": [
                    [
                        "P1 Emergency",
                        "Dock door stuck open out of hours; loss of power; sprinkler impairment",
                        "2 hours",
                        "4 hours (make safe)",
                    ],
                    ["P2 Urgent", "Dock leveller out of service; failed lighting in an aisle", "4 hours", "24 hours"],
                    ["P3 Routine", "Damaged ceiling tile; dripping tap", "3 working days", "10 working days"],
                    ["P4 Planned", "Redecoration; minor improvements", "By agreement", "By agreement"],
                ],
            },
        ),
        ("h1", "6 Planned maintenance frequencies"),
        (
            "table",
            {
                "header": ["Asset", "PPM frequency"],
                "rows": [
                    ["Dock doors, dock levellers and vehicle restraints", "Every 3 months"],
                    ["Emergency lighting", "Monthly function test; annual full-duration test"],
                    ["Office HVAC plant", "Quarterly"],
                    ["LV switchgear and distribution boards", "Annual inspection and thermographic survey"],
                    ["Roofs, gutters and siphonic outlets", "Twice a year, in spring and autumn"],
                    ["Sprinkler installation", "As FP-300, section 8"],
                ],
            },
        ),
        ("h1", "7 Performance and service credits"),
        (
            "p",
            "The contractor shall complete at least 98% of scheduled PPM tasks in each month, and the "
            "helpdesk shall answer 90% of calls within 20 seconds.",
        ),
        (
            "p",
            "Each failed key performance indicator incurs a service credit of 2% of the monthly fee. "
            "Service credits in any month are capped at 10% of the monthly fee.",
        ),
        ("h1", "8 Reporting"),
        (
            "p",
            "The contractor shall issue a monthly report by the tenth working day of the following "
            "month, covering PPM completion, reactive calls, KPI results and open defects.",
        ),
    ],
}


# ---------------------------------------------------------------------------
# HTML: Guides/Commissioning Checklist.html
# ---------------------------------------------------------------------------

COMMISSIONING_CHECKLIST = {
    "path": "Guides/Commissioning Checklist.html",
    "title": "Commissioning Checklist - Northgate Distribution Centre",
    "intro": [
        "Use this checklist to track commissioning of the building services and equipment before "
        "practical completion. Each item is signed off by the commissioning manager and, where the "
        "Witness column says CR, witnessed by the client's representative.",
        "Record results on the test sheets referenced in the commissioning plan and attach them to "
        "the operation and maintenance manual.",
    ],
    "header": ["ID", "System", "Test", "Acceptance criterion", "Witness"],
    "rows": [
        [
            "CX-01",
            "HV intake",
            "Energisation and phase rotation check",
            "Correct phase rotation at the main switchboard",
            "Network operator",
        ],
        [
            "CX-02",
            "LV switchgear",
            "Protection settings verified against the discrimination study",
            "All settings match the study",
            "CR",
        ],
        [
            "CX-03",
            "Lighting controls",
            "DALI addressing and aisle presence detection",
            "Every luminaire responds to its own aisle detector",
            "CR",
        ],
        [
            "CX-04",
            "Emergency lighting",
            "Full-duration discharge test",
            "Every luminaire still lit at the end of its rated duration",
            "CR",
        ],
        [
            "CX-05",
            "Dock doors",
            "Door and vehicle restraint interlock, tested at every dock",
            "Door will not open with the restraint disengaged",
            "CR",
        ],
        [
            "CX-06",
            "Dock levellers",
            "Operation under load with a loaded pallet truck",
            "Smooth travel over the full range, no hydraulic leaks",
            "-",
        ],
        [
            "CX-07",
            "Fire alarm",
            "Cause and effect test",
            "Every input produces the actions in the cause and effect matrix",
            "CR and insurer",
        ],
        [
            "CX-08",
            "Sprinklers",
            "Flow switch test on each valve set",
            "Alarm received at the alarm receiving centre",
            "Insurer",
        ],
        ["CX-09", "Drainage", "Vortex flow control check", "Discharge does not exceed the consented rate", "-"],
        ["CX-10", "HVAC", "Air flow balancing", "All terminals within 10% of design air flow", "CR"],
        ["CX-11", "Building management system", "Point-to-point check", "100% of points verified end to end", "-"],
        ["CX-12", "Access control", "Fail-safe release on fire alarm", "All escape-route doors release", "CR"],
        ["CX-13", "Building envelope", "Whole-building air pressure test", "Result within the design criterion", "CR"],
        [
            "CX-14",
            "Heating",
            "Seasonal commissioning",
            "Heating re-tested and tuned during the first winter after handover",
            "CR",
        ],
        ["CX-15", "Metering", "Sub-meter verification", "Each reading within 2% of a calibrated portable meter", "-"],
    ],
    "outro": [
        "Practical completion cannot be certified until every item witnessed by CR has been signed "
        "off. Outstanding items shall be listed with an owner and a target date.",
    ],
}


# ---------------------------------------------------------------------------
# Markdown: Guides/Onboarding.md
# ---------------------------------------------------------------------------

ONBOARDING_MD = {
    "path": "Guides/Onboarding.md",
    "text": """\
# Onboarding: Northgate Distribution Centre project

Welcome to the project team. This page covers where documents live, how they are
named, how to raise technical queries and what you need before visiting site. Read
it in your first week and ask the design manager if anything is unclear.

## Where documents live

All project information is held in the common data environment (CDE). The folder
structure mirrors the information status:

- `05 WIP` - your own work in progress, visible to your team only.
- `10 Shared` - information shared with other disciplines for coordination.
- `20 Published` - approved information for construction or for the client.
- `90 Archive` - superseded revisions, kept for audit.

The client's standards (the ARS GEN 10.0 suite: design criteria, FP-300, SR-04) are
reference documents and are held read-only under `00 Client Standards`.

## File naming

Drawings and documents are named `Project-Originator-Type-Discipline-Number`, for
example `NGD-ARC-DR-A-1001` is an architectural drawing. Always check the drawing
register before creating a new number, and never reuse a withdrawn number.

## Requests for information

Raise technical queries as RFIs in the RFI register on the CDE. The design team aims
to answer every RFI within five working days; an RFI that is holding up work on site
is flagged red and answered within 48 hours. Do not send technical questions by
email alone: they are not tracked.

## Site visits

Everyone must complete the site induction (about 45 minutes) before their first
visit; inductions are valid for 12 months. Site hours are 07:30 to 18:00 Monday to
Friday and 08:00 to 13:00 on Saturday. There is no work on Sundays without a permit
from the site manager.

Minimum personal protective equipment: hard hat, high-visibility vest, safety boots
with midsole protection, gloves and eye protection. In the HGV yard you must wear a
long-sleeved high-visibility jacket instead of a vest.

## Key contacts

| Role | Name | Notes |
|------|------|-------|
| Project director | Lena Brandt | Approves departures from client standards |
| Design manager | Samir Haddad | First point of contact for design questions |
| Lead electrical engineer | Mikko Virtanen | Switchgear, lighting and the load schedule |
| Site manager | Grace Otieno | Site access, permits and inductions |
| Document controller | Tom Albers | CDE accounts and access rights |

## First week checklist

1. Get your CDE account set up and check you can open `20 Published`.
2. Read the design criteria sections for your discipline.
3. Book your site induction.
4. Join the weekly design coordination meeting (Tuesdays, 10:00).
""",
}


# ---------------------------------------------------------------------------
# Text: Drawings/Drawing Register.txt
# ---------------------------------------------------------------------------

DRAWINGS = [
    # (number, revision, status, title)
    ("NGD-ARC-DR-A-1001", "P3", "S2", "Site Location Plan"),
    ("NGD-ARC-DR-A-1002", "P5", "S4", "Proposed Site Plan"),
    ("NGD-ARC-DR-A-1100", "P4", "S4", "Warehouse General Arrangement Plan"),
    ("NGD-ARC-DR-A-1101", "P2", "S4", "Office Block Ground Floor Plan"),
    ("NGD-ARC-DR-A-1102", "P2", "S4", "Office Block First Floor Plan"),
    ("NGD-ARC-DR-A-1300", "P3", "S4", "Roof Plan and Rooflight Layout"),
    ("NGD-ARC-DR-A-2001", "P3", "S4", "Elevations - North and South"),
    ("NGD-ARC-DR-A-2002", "P3", "S4", "Elevations - East and West"),
    ("NGD-ARC-DR-A-2410", "C1", "A", "Dock Door Schedule and Elevations"),
    ("NGD-ARC-DR-A-2420", "P2", "S4", "Internal Door Schedule and Hardware Sets"),
    ("NGD-ARC-DR-A-3001", "P1", "S2", "Building Sections"),
    ("NGD-STR-DR-S-4001", "P4", "S4", "Foundation Layout"),
    ("NGD-STR-DR-S-4010", "P3", "S4", "Ground Floor Slab Layout and Joint Plan"),
    ("NGD-STR-DR-S-4100", "P3", "S4", "Portal Frame General Arrangement"),
    ("NGD-STR-DR-S-4200", "P2", "S4", "Office Block Steelwork"),
    ("NGD-CIV-DR-C-5001", "P4", "S4", "External Works General Arrangement"),
    ("NGD-CIV-DR-C-5010", "P3", "S4", "Car Park Layout and Markings"),
    ("NGD-CIV-DR-C-5101", "P5", "S4", "Surface Water Drainage Layout"),
    ("NGD-CIV-DR-C-5102", "P4", "S4", "Foul Drainage Layout"),
    ("NGD-CIV-DR-C-5120", "P2", "S4", "Attenuation Tank Details"),
    ("NGD-CIV-DR-C-5130", "P1", "S2", "Oil Separator and Containment Sump Details"),
    ("NGD-CIV-DR-C-5200", "P2", "S4", "HGV Yard Pavement Details"),
    ("NGD-ELE-DR-E-6001", "P3", "S4", "HV Intake and Substation Layout"),
    ("NGD-ELE-DR-E-6010", "P4", "S4", "LV Schematic - Main Switchboard"),
    ("NGD-ELE-DR-E-6100", "P2", "S4", "Internal Lighting Layout - Warehouse"),
    ("NGD-ELE-DR-E-6110", "P2", "S4", "Internal Lighting Layout - Offices"),
    ("NGD-ELE-DR-E-6150", "P3", "S4", "External Lighting Layout"),
    ("NGD-ELE-DR-E-6200", "P1", "S2", "Earthing and Lightning Protection"),
    ("NGD-MEC-DR-M-7001", "P2", "S4", "Heating and Ventilation - Offices"),
    ("NGD-MEC-DR-M-7100", "P1", "S2", "Warehouse Heating and Destratification"),
    ("NGD-FIR-DR-F-8001", "P3", "S4", "Sprinkler Layout - Warehouse"),
    ("NGD-FIR-DR-F-8010", "P2", "S4", "Sprinkler Pump House and Tank"),
    ("NGD-FIR-DR-F-8020", "P2", "S4", "Sprinkler Valve Room Schematic"),
    ("NGD-FIR-DR-F-8100", "P1", "S2", "Fire Hydrant Layout"),
]

WITHDRAWN = [
    ("NGD-ARC-DR-A-2400", "Dock Elevations (withdrawn; content moved to the dock door schedule drawing)"),
    ("NGD-CIV-DR-C-5110", "Soakaway Details (withdrawn; soakaways omitted after ground investigation)"),
]


def drawing_register_text():
    lines = [
        "NORTHGATE DISTRIBUTION CENTRE - PLOT 7",
        "DRAWING REGISTER",
        "Register ref: NGD-REG-001    Issue date: 2024-09-30    Prepared by: T. Albers",
        "",
        "Status codes: S2 = suitable for information, S4 = suitable for stage approval,",
        "              A = approved for construction.",
        "Revisions:    P = preliminary, C = construction.",
        "",
        f"{'Drawing No':<20}{'Rev':<5}{'Status':<8}Title",
        f"{'-' * 19:<20}{'-' * 4:<5}{'-' * 7:<8}{'-' * 45}",
    ]
    for number, rev, status, title in DRAWINGS:
        lines.append(f"{number:<20}{rev:<5}{status:<8}{title}")
    lines += ["", "WITHDRAWN NUMBERS (do not reuse)", ""]
    for number, note in WITHDRAWN:
        lines.append(f"{number:<20}{note}")
    lines += ["", f"Total current drawings: {len(DRAWINGS)}", ""]
    return "\n".join(lines)


DRAWING_REGISTER = {
    "path": "Drawings/Drawing Register.txt",
}
