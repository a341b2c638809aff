"""Text content of the PDF documents in the ragbot sample corpus.

Every document here is an original, fictional work written for ragbot and
dedicated to the public domain under CC0 1.0 (see samples/LICENSE.md).  The
site, the client ("ARS") and all people named are invented.

Each document is a dict with:
    path         output path relative to samples/warehouse-standards/
    title        document title (running header, PDF metadata)
    header_right text at the right of the running header
    footer_left  text at the left of the running footer ("Page N of M" is
                 added at the right by the builder)
    pages        list of pages; each page is a list of blocks.  The builder
                 starts a new PDF page for each entry and fails if any page
                 overflows, so every fact stays on the page it is written on
                 (samples/questions.jsonl relies on this).

Blocks are tuples made by the helpers below.  Text is plain (not markup);
the builder escapes it.
"""


def title(text):
    return ("title", text)


def subtitle(text):
    return ("subtitle", text)


def h1(text):
    return ("h1", text)


def h2(text):
    return ("h2", text)


def p(text):
    return ("p", text)


def bullets(*items):
    return ("bullets", list(items))


def table(header, rows, widths=None):
    """widths: fractions of the text width, one per column."""
    return ("table", {"header": header, "rows": rows, "widths": widths})


# ---------------------------------------------------------------------------
# 1. Performance Package Design Criteria v20.1.1  (15 pages)
# ---------------------------------------------------------------------------

DESIGN_CRITERIA = {
    "path": "ARS GEN 10.0/05.01.02 Design Criteria/Performance Package Design Criteria v20.1.1.pdf",
    "title": "Performance Package Design Criteria v20.1.1",
    "header_right": "ARS GEN 10.0",
    "footer_left": "ARS-GEN10-DC-0501 | Issued for Tender | Uncontrolled when printed",
    "subject": "Minimum performance requirements for distribution centres built to ARS GEN 10.0",
    "pages": [
        # ---- page 1 --------------------------------------------------------
        [
            title("Performance Package Design Criteria"),
            subtitle("ARS GEN 10.0 Generic Distribution Centre Standard"),
            subtitle("Version 20.1.1 - Issued for Tender - 18 September 2024"),
            p(
                "Document reference: ARS-GEN10-DC-0501. Document owner: ARS Property Standards "
                "Group. This document is part of the ARS GEN 10.0 suite and shall be read together "
                "with the Sprinkler Design Standard FP-300, the Slab and Racking Loads standard "
                "SR-04, the Drainage Specification DS-12 and the Switchgear Requirements EL-SW-01."
            ),
            h1("Document control"),
            table(
                ["Version", "Date", "Description", "Prepared", "Approved"],
                [
                    ["19.0", "2023-03-14", "First issue of the GEN 10 performance criteria", "R. Okafor", "L. Brandt"],
                    [
                        "20.0",
                        "2024-01-22",
                        "Dock layout revised; racking criteria aligned with SR-04",
                        "R. Okafor",
                        "L. Brandt",
                    ],
                    ["20.1", "2024-06-05", "Coordinated with FP-300 revision C", "M. Virtanen", "L. Brandt"],
                    [
                        "20.1.1",
                        "2024-09-18",
                        "Editorial corrections; parking and lighting tables reissued",
                        "M. Virtanen",
                        "S. Haddad",
                    ],
                ],
                [0.10, 0.14, 0.46, 0.15, 0.15],
            ),
            h1("Purpose and use"),
            p(
                "This document sets out the minimum performance requirements that the design-and-build "
                "contractor shall meet when developing the design of a distribution centre to the ARS "
                "GEN 10.0 standard. It is a performance specification: where a product or system is "
                "named, an equivalent may be proposed, provided the equivalent is demonstrated to meet "
                "every stated criterion."
            ),
            p(
                "Where this document and a project-specific brief conflict, the project brief takes "
                "precedence and the conflict shall be raised as a request for information (RFI). "
                "Sections are numbered in the MasterFormat style used across the ARS suite. Section "
                "numbers are stable between versions, so a clause reference remains valid when the "
                "document is revised."
            ),
            h1("Contents"),
            table(
                ["Division", "Title", "Page"],
                [
                    ["01", "General Requirements", "2"],
                    ["03", "Concrete", "3"],
                    ["05", "Metals", "4"],
                    ["07", "Thermal and Moisture Protection", "5"],
                    ["08", "Openings", "6"],
                    ["10", "Specialties: Storage Racking", "9"],
                    ["11", "Equipment: Loading Dock", "10"],
                    ["21", "Site, Pavements and Parking", "11"],
                    ["26", "Electrical: Interior and Exterior Lighting", "13"],
                    ["28", "Electronic Safety and Security", "15"],
                ],
                [0.15, 0.70, 0.15],
            ),
        ],
        # ---- page 2 --------------------------------------------------------
        [
            h1("01 10 00 Summary of Work"),
            p(
                "The reference site for this version of the criteria is the Northgate Distribution "
                "Centre, Plot 7: a single-storey ambient (non-refrigerated) warehouse with an attached "
                "two-storey office block, a transport office with drivers' facilities, a gatehouse and "
                "a sprinkler pump house. The building operates as a regional distribution hub handling "
                "palletised and case-picked retail goods."
            ),
            h2("Key building data"),
            table(
                ["Item", "Value"],
                [
                    ["Warehouse gross internal floor area", "46,800 m2"],
                    ["Two-storey office block (total over both floors)", "2,400 m2"],
                    ["Transport office and drivers' facilities", "180 m2"],
                    ["Gatehouse", "35 m2"],
                    ["Total site area", "14.2 hectares"],
                    ["Design working life of primary structure", "50 years"],
                    ["Design working life of building envelope", "30 years"],
                    ["Design working life of building services", "20 years"],
                ],
                [0.65, 0.35],
            ),
            p(
                "The building shall be designed for continuous operation 24 hours a day, 7 days a "
                "week, closing only on 25 and 26 December and 1 January."
            ),
            h1("01 41 00 Regulatory Requirements"),
            p(
                "The design shall comply with the national building regulations in force at the date "
                "of the planning application, the requirements of the client's property insurer, and "
                "the standards referenced in this document. Where the insurer's requirements are more "
                "onerous than the statutory requirements, the insurer's requirements govern."
            ),
            p(
                "The building shall achieve a sustainability rating of BREEAM Excellent at both the "
                "design-stage and post-construction assessments, and an energy performance "
                "certificate rating of A."
            ),
            h1("01 33 00 Submittal Procedures"),
            p(
                "Stage 4 design submissions shall be issued to the client's technical adviser at least "
                "fifteen working days before the corresponding design review meeting. Each submission "
                "shall include a compliance schedule listing every clause of this document against "
                "the drawing or specification reference that demonstrates compliance."
            ),
            p(
                "Departures from these criteria shall be submitted on the departure request form with "
                "a cost and programme assessment. A departure is not accepted until it has been "
                "signed by the ARS Property Standards Group."
            ),
            h1("01 78 00 Closeout Submittals"),
            p(
                "Draft operation and maintenance manuals shall be issued at least eight weeks before "
                "practical completion, in searchable electronic form, with one folder per system. The "
                "as-built information model and record drawings shall be issued at handover."
            ),
        ],
        # ---- page 3 --------------------------------------------------------
        [
            h1("03 30 00 Cast-in-Place Concrete"),
            p(
                "The warehouse ground-bearing slab shall be designed for a uniformly distributed load "
                "of 50 kN/m2 across the full storage area, in addition to the racking point loads and "
                "materials handling equipment (MHE) wheel loads given in SR-04. The slab design shall "
                "be carried out by a specialist floor contractor and checked by the structural "
                "engineer of record."
            ),
            p(
                "Concrete for the slab shall be strength class C32/40 with a maximum free "
                "water/cement ratio of 0.55. External yard slabs shall use air-entrained concrete to "
                "resist freeze-thaw damage."
            ),
            h1("03 35 00 Concrete Floor Finishing"),
            p(
                "Floor surface regularity in the free-movement areas shall meet classification FM2 in "
                "accordance with TR34 (4th edition). In very narrow aisle (VNA) zones, where trucks "
                "run on fixed wheel paths, the floor shall meet defined-movement classification DM2 "
                "measured along the wheel tracks."
            ),
            table(
                ["Zone", "Surface regularity", "Finish", "Survey"],
                [
                    [
                        "Wide-aisle storage and marshalling",
                        "FM2 (free movement)",
                        "Power-floated with dry-shake hardener",
                        "Within 28 days of casting",
                    ],
                    [
                        "Very narrow aisles",
                        "DM2 (defined movement)",
                        "Power-floated, ground to tolerance where required",
                        "Before racking installation",
                    ],
                    ["Dock leveller and apron interface", "FM3", "Power-floated", "Within 28 days of casting"],
                    [
                        "Plant rooms and battery charging room",
                        "FM3",
                        "Power-floated with chemical-resistant coating",
                        "Before handover",
                    ],
                ],
                [0.28, 0.20, 0.30, 0.22],
            ),
            p(
                "Joints: the slab shall be laid as large-area jointless pours with free-movement joints "
                "at not more than 50 m centres in either direction. Free-movement joints crossed by "
                "MHE shall be armoured with steel joint protection. Sawn restrained-movement joints "
                "are not permitted in VNA aisles."
            ),
            p(
                "Abrasion resistance: the finished floor shall achieve class AR1. The curing compound "
                "shall be compatible with any floor sealer or line marking applied later."
            ),
            p(
                "Level: the finished floor shall be within plus or minus 15 mm of the datum level over "
                "the whole warehouse. Slab edges at the dock wall shall have a cast-in steel edge angle "
                "to protect the arris from leveller and truck impact."
            ),
        ],
        # ---- page 4 --------------------------------------------------------
        [
            h1("05 12 00 Structural Steel Framing"),
            p(
                "The warehouse shall be a steel portal frame with a clear internal height of 12.5 m, "
                "measured from finished floor level to the underside of the lowest haunch or roof "
                "member. Services shall be installed within the roof zone so that the full height "
                "below this level is available for storage."
            ),
            p(
                "The column grid shall be 24.0 m by 16.5 m, with the 16.5 m dimension parallel to the "
                "dock elevation. Internal columns shall be located within rack flue spaces so that no "
                "column falls within an aisle."
            ),
            table(
                ["Load", "Value"],
                [
                    ["Roof imposed load (no access except for maintenance)", "0.6 kN/m2"],
                    ["Services hanging load allowance, whole roof", "0.25 kN/m2"],
                    ["Additional hanging allowance over the dock zone (dock heaters and fans)", "0.15 kN/m2"],
                    ["Snow load", "To the national annex, including drifting at parapets"],
                    ["Wind load", "To the national annex; dominant openings assumed at dock doors"],
                ],
                [0.65, 0.35],
            ),
            p(
                "Deflection: horizontal deflection at the eaves under characteristic wind load shall "
                "not exceed eaves height/200, and vertical deflection of roof members under imposed "
                "load shall not exceed span/250."
            ),
            h1("05 50 00 Metal Fabrications"),
            p(
                "Steel column guards 1.0 m high, filled with concrete and painted safety yellow, shall "
                "be provided to every column in a circulation route or within 1.5 m of an aisle end. "
                "Handrails, balustrades and access ladders shall be hot-dip galvanised."
            ),
            p(
                "Roof access shall be by an internal fixed ladder with a rest platform and safety cage "
                "to a roof hatch not smaller than 900 mm by 900 mm. A permanent fall-arrest system "
                "shall be provided along all roof valleys."
            ),
            h1("05 31 00 Steel Decking"),
            p(
                "The first floor of the office block shall be a composite slab on trapezoidal steel "
                "decking, 130 mm overall depth, spanning between secondary beams. Internal steelwork "
                "shall receive a paint system suitable for a C2 environment with a time to first "
                "maintenance of not less than 20 years."
            ),
        ],
        # ---- page 5 --------------------------------------------------------
        [
            h1("07 41 13 Metal Roof Panels"),
            p(
                "Roof cladding shall be a factory-made composite panel or a site-assembled built-up "
                "system achieving a U-value of 0.18 W/m2K or better. The roof pitch shall be not less "
                "than 4 degrees after deflection."
            ),
            p(
                "Rooflights shall cover 12% of the roof area, distributed evenly over the warehouse. "
                "Rooflights shall be triple-skin, factory-assembled units that remain non-fragile "
                "(Class B) for at least 25 years."
            ),
            h1("07 42 13 Metal Wall Panels"),
            p(
                "External walls shall be horizontally laid composite panels with a U-value of 0.26 "
                "W/m2K or better. The lowest 2.4 m of all warehouse walls shall be precast concrete "
                "panels to resist impact from vehicles and MHE; cladding starts above this concrete "
                "plinth."
            ),
            p(
                "Colours: upper cladding RAL 9006 white aluminium; mid band, flashings and personnel "
                "doors RAL 7016 anthracite grey."
            ),
            h1("07 27 00 Air Barriers"),
            p(
                "The completed envelope shall achieve an air permeability not exceeding 2.0 m3/(h.m2) "
                "at 50 Pa, demonstrated by a whole-building pressure test before practical "
                "completion."
            ),
            h1("07 62 00 Roof Drainage"),
            p(
                "Roof drainage shall be a siphonic system discharging to the below-ground surface "
                "water network described in DS-12. Gutters and outlets shall be designed for a "
                "rainfall event with a return period of 1 in 500 years, and every gutter shall have "
                "an emergency overflow weir discharging clear of the building."
            ),
            p(
                "Valley gutters shall be insulated and lined with a single-ply membrane, with a "
                "minimum sole width of 600 mm to allow maintenance access."
            ),
            h1("07 92 00 Joint Sealants"),
            p(
                "External sealant joints shall be low-modulus silicone or modified silane, designed for "
                "the calculated joint movement, with backing rod and primer as required by the sealant "
                "manufacturer. Sealants shall not be used as the primary line of weather protection."
            ),
        ],
        # ---- page 6 --------------------------------------------------------
        [
            h1("08 36 13 Sectional Doors"),
            p(
                "The east elevation shall have 32 dock doors, referenced DD-101 to DD-132, each serving "
                "a dock leveller. The north elevation shall have 4 level-access doors, referenced "
                "DD-201 to DD-204, for ground-level loading of vans and MHE movements to the yard."
            ),
            p(
                "Dock doors shall be insulated sectional overhead doors with a clear opening 3.0 m wide "
                "by 3.2 m high, 40 mm thick panels and one row of vision panels at 1.5 m above floor "
                "level. Doors shall achieve wind resistance class 3 and shall be electrically "
                "operated with a manual chain override."
            ),
            table(
                ["Door ref", "Type", "Clear opening (w x h)", "Use"],
                [
                    ["DD-101 to DD-113", "Insulated sectional, dock", "3.0 x 3.2 m", "Inbound ambient goods"],
                    ["DD-114", "Insulated sectional, dock", "3.0 x 3.2 m", "Dangerous goods receiving only"],
                    ["DD-115 to DD-132", "Insulated sectional, dock", "3.0 x 3.2 m", "Outbound despatch"],
                    [
                        "DD-201 to DD-204",
                        "Insulated roller shutter, level access",
                        "4.0 x 5.0 m",
                        "Vans and MHE access to yard",
                    ],
                ],
                [0.20, 0.32, 0.20, 0.28],
            ),
            h2("Dangerous goods door"),
            p(
                "DD-114 is the designated dangerous-goods receiving door. The dock apron in front of "
                "DD-114 shall drain to a sealed containment sump that is isolated from the main "
                "surface water system, and the door surround shall be marked with yellow and black "
                "chevrons. Goods classified as hazardous for transport shall be received through this "
                "door only."
            ),
            p(
                "Each dock door shall be interlocked with its dock leveller and vehicle restraint as "
                "described in Division 11. Door, leveller and restraint controls shall be grouped on a "
                "single control panel beside each door, mounted 1.4 m above floor level, with an "
                "emergency stop button."
            ),
            p(
                "Bottom seals and side seals shall be replaceable without removing the door panels. "
                "Each door shall have a safety edge and photo-eye that reverse the door on contact or "
                "obstruction."
            ),
        ],
        # ---- page 7 --------------------------------------------------------
        [
            h1("08 71 00 Door Hardware"),
            p(
                "Door hardware shall be specified by hardware set. Each door on the door schedule is "
                "assigned one hardware set reference. All hardware shall be satin stainless steel, "
                "grade 316 for external doors and grade 304 for internal doors, with a manufacturer's "
                "warranty of at least ten years on mechanical components."
            ),
            table(
                ["Set", "Application", "Principal components"],
                [
                    [
                        "HEA01",
                        "Office internal doors",
                        "Lever handles on roses, tubular latch, floor-mounted door stop",
                    ],
                    [
                        "HEA02",
                        "WCs and shower rooms",
                        "Lever handles, privacy bolt with emergency release and indicator",
                    ],
                    [
                        "HEA03",
                        "Store rooms and cleaners' cupboards",
                        "Sashlock with master-keyed cylinder, overhead closer",
                    ],
                    [
                        "HEA04",
                        "External personnel entry doors",
                        "Access control reader, electric strike (fail secure), overhead closer, weather seals",
                    ],
                    [
                        "HEA05",
                        "Final exit doors from the warehouse",
                        "Single-point panic bar, overhead closer, door contact alarmed at security",
                    ],
                    [
                        "HEA06",
                        "Double fire doors between warehouse and office link",
                        "Panic bars on both leaves, overhead closers with electromagnetic hold-open released on fire alarm, leaf selector, intumescent and smoke seals",
                    ],
                    [
                        "HEA07",
                        "Plant rooms and electrical switch room",
                        "Deadlock on restricted key, overhead closer, danger signage",
                    ],
                    [
                        "HEA08",
                        "Sprinkler pump house",
                        "Deadlock, door contact monitored by the fire alarm, louvre for combustion air",
                    ],
                ],
                [0.12, 0.33, 0.55],
            ),
            p(
                "Master keying: a three-level suite (grand master, sub-master per department and "
                "individual keys) shall be provided. Restricted-profile cylinders shall be used for "
                "the switch room, the pump house and the server room."
            ),
            p(
                "Access-controlled doors shall fail secure on loss of power, except doors on escape "
                "routes, which shall fail safe (release) on loss of power or on a fire alarm signal."
            ),
            p(
                "Door closers shall be adjustable for closing force and latching speed and shall be "
                "set so that internal doors can be opened with a force not exceeding 30 N at the "
                "leading edge."
            ),
        ],
        # ---- page 8 --------------------------------------------------------
        [
            h1("08 11 13 Hollow Metal Doors and Frames"),
            p(
                "External personnel doors shall be insulated steel doorsets with a clear opening width "
                "of not less than 1,000 mm, a security rating of SR2 and a three-point locking "
                "system. Frames shall be fixed to the structure, not to the cladding."
            ),
            h1("08 14 00 Fire-Rated Doors"),
            p(
                "Fire doors shall be tested doorsets with third-party certification covering the leaf, "
                "frame, hardware and glazing as a single assembly. The suffix S denotes a doorset "
                "fitted with smoke seals that limit leakage to 3 m3/h per metre of perimeter at 25 Pa."
            ),
            table(
                ["Location", "Minimum rating", "Notes"],
                [
                    [
                        "Warehouse to office link (compartment wall)",
                        "FD60S",
                        "Double doors, held open on magnetic release",
                    ],
                    [
                        "Battery charging room",
                        "FD120S",
                        "Wall between charging room and warehouse is a 120-minute compartment wall",
                    ],
                    ["Electrical switch room and transformer room", "FD60S", "Outward opening"],
                    ["Sprinkler valve room", "FD60", "Direct access from outside preferred"],
                    ["Office stair cores", "FD30S", "Vision panel required"],
                    ["Service risers and cupboards", "FD30", "Lockable, signed as a fire door to be kept locked"],
                ],
                [0.42, 0.18, 0.40],
            ),
            p(
                "Fire doors that are normally held open shall close automatically on a fire alarm "
                "signal and on loss of power. Every fire door shall be inspected, and the inspection "
                "recorded, at intervals not exceeding six months."
            ),
            p(
                "The gap between leaf and frame shall be between 2 mm and 4 mm along the head and "
                "jambs. The threshold gap shall not exceed 10 mm unless a drop seal is fitted."
            ),
            h1("08 44 13 Glazed Curtain Walls"),
            p(
                "The office block entrance and stair cores shall have a stick-system curtain wall with "
                "double-glazed units of U-value 1.2 W/m2K and solar factor (g-value) not exceeding 0.35. "
                "Glazing within 800 mm of floor level and in doors shall be toughened or laminated "
                "safety glass."
            ),
        ],
        # ---- page 9 --------------------------------------------------------
        [
            h1("10 56 13 Storage Racking"),
            p(
                "The warehouse shall be fitted with adjustable pallet racking (APR) in wide-aisle and "
                "very narrow aisle (VNA) configurations. Pallets are 1,200 mm by 1,000 mm with a "
                "maximum gross weight of 1,000 kg and a maximum load height of 1,500 mm including the "
                "pallet."
            ),
            table(
                ["Parameter", "Wide-aisle APR", "VNA APR"],
                [
                    ["Top beam level above finished floor", "8.6 m", "9.8 m"],
                    ["Beam levels (plus ground location)", "5", "6"],
                    ["Aisle width between pallet faces", "3.2 m", "1.75 m"],
                    ["Truck type", "Reach truck", "Man-up turret truck, wire guided"],
                    ["Pallet positions", "14,880", "26,880"],
                ],
                [0.44, 0.28, 0.28],
            ),
            p(
                "The racking layout provides 41,760 pallet positions in total. The layout shall leave "
                "a cross aisle at least 4.0 m wide at the dock end of every run and at intervals of "
                "not more than 60 m along each run."
            ),
            p(
                "A clear space of at least 1.0 m shall be maintained between the top of the highest "
                "stored load and the deflectors of the ceiling sprinklers. Flue spaces within the "
                "racking shall be kept as required by the sprinkler standard."
            ),
            p(
                "VNA aisles shall have wire guidance embedded in the slab along the aisle centre line, "
                "and aisle-end slow-down and stop systems using RFID transponders shall be fitted at "
                "each VNA aisle entry."
            ),
            p(
                "Racking shall be designed, manufactured and installed to EN 15512 and EN 15620 by a "
                "contractor registered with the national racking installer scheme."
            ),
        ],
        # ---- page 10 -------------------------------------------------------
        [
            h1("11 13 00 Loading Dock Equipment"),
            p(
                "Each dock door shall be served by an electro-hydraulic swing-lip dock leveller with a "
                "platform 2.0 m wide by 3.0 m long and a rated dynamic capacity of 60 kN. The leveller "
                "shall have an operating range of 300 mm above and 300 mm below dock level, which is "
                "set at 1,200 mm above the finished yard surface."
            ),
            p(
                "Vehicle restraints: each dock position shall have a wheel-chock type vehicle "
                "restraint. The controls shall be interlocked so that the dock door cannot be opened "
                "until the restraint is engaged, and the restraint cannot be released while the door "
                "is open or the leveller is out of its stored position."
            ),
            p(
                "Dock shelters shall be of the retractable curtain type, 3.4 m wide by 3.5 m high, with "
                "side curtains 600 mm deep. Dock bumpers shall be laminated rubber, 500 mm by 250 mm by "
                "100 mm, bolted to steel plates cast into the dock wall."
            ),
            p(
                "Dock lighting: an articulated LED dock light with a 1.2 m arm shall be fitted inside "
                "each dock door so that operatives can see into the trailer. Red and green traffic "
                "lights shall be mounted externally beside each door to signal drivers."
            ),
            table(
                ["Item", "Per dock position", "Notes"],
                [
                    ["Dock leveller", "1", "Swing lip, electro-hydraulic"],
                    ["Vehicle restraint", "1", "Interlocked with door and leveller"],
                    ["Dock shelter", "1", "Retractable curtain type"],
                    ["Articulated dock light", "1", "LED, 1.2 m arm"],
                    ["External traffic light", "1", "Red/green, facing the driver"],
                    ["Wheel guides", "1 pair", "Galvanised steel, bolted to the apron"],
                ],
                [0.35, 0.20, 0.45],
            ),
            p(
                "Leveller pits shall be formed with the slab using a manufacturer-supplied pit frame. "
                "Leveller hydraulic units shall use biodegradable oil, and each leveller shall have an "
                "automatic return-to-stored-position function."
            ),
        ],
        # ---- page 11 -------------------------------------------------------
        [
            h1("21 01 10 External Pavements, Kerbs and Markings"),
            p(
                "The HGV yard and the dock aprons shall be concrete pavement designed for 40-tonne "
                "articulated vehicles over a 25-year design life. The dock apron slab shall extend "
                "18 m from the dock wall. Car parks and light vehicle roads shall be asphalt pavement "
                "with a 40 mm surface course."
            ),
            h2("Space dimensions"),
            p(
                "Each standard car parking space shall measure not less than 2.5 m wide by 5.0 m long, "
                "served by an aisle not less than 6.0 m wide. Accessible spaces shall be 2.4 m by 4.8 m "
                "with an additional 1.2 m safety zone on both sides and at the rear."
            ),
            table(
                ["Space type", "Minimum width", "Minimum length"],
                [
                    ["Standard car space", "2.5 m", "5.0 m"],
                    ["Accessible car space", "2.4 m plus 1.2 m zones", "4.8 m plus 1.2 m zone"],
                    ["Motorcycle space", "1.0 m", "2.5 m"],
                    ["Trailer parking position", "3.5 m", "16.5 m"],
                    ["HGV tractor unit space", "3.5 m", "8.0 m"],
                ],
                [0.40, 0.30, 0.30],
            ),
            p(
                "Kerbs shall be precast concrete with a 125 mm upstand in car parks and a 150 mm "
                "upstand adjoining the HGV yard. Road markings shall be white thermoplastic; bay "
                "markings shall be 100 mm wide, and accessible and EV bays shall have blue and green "
                "infill respectively."
            ),
            p(
                "Pedestrian routes crossing the HGV yard shall be marked zebra crossings with tactile "
                "paving, set back at least 10 m from the nearest dock door and lit to the yard "
                "lighting standard."
            ),
        ],
        # ---- page 12 -------------------------------------------------------
        [
            h1("21 01 13 Parking"),
            p(
                "The site provides 412 car parking spaces and 38 trailer positions. Car parking is "
                "split between the staff car park to the south of the office block and a visitor car "
                "park beside the main entrance; trailer positions are in the marshalling area east of "
                "the dock apron."
            ),
            table(
                ["Car parking category", "Spaces"],
                [
                    ["Staff, standard", "336"],
                    ["Staff, with EV charge point", "42"],
                    ["Visitors", "14"],
                    ["Accessible (blue badge)", "20"],
                    ["Total", "412"],
                ],
                [0.70, 0.30],
            ),
            p(
                "EV charging: each of the 42 EV spaces shall have a 7 kW charge point, and a further "
                "20% of the remaining spaces shall have passive provision (ducts and cable routes) for "
                "future charge points."
            ),
            p(
                "Motorcycle parking: 12 spaces with ground anchors. Cycle parking: 60 covered stands "
                "(120 bicycles) within 50 m of the staff entrance, with lockers and showers in the "
                "office block."
            ),
            p(
                "Trailer positions shall be arranged in a single bank with nose-in parking, a clear "
                "circulation depth of at least 35 m in front of the bank, and reinforced concrete "
                "landing-leg pads 1.0 m wide at each position."
            ),
            p(
                "The gatehouse shall control HGV entry with two inbound lanes and one outbound lane, "
                "each with a rising-arm barrier and an automatic number plate recognition camera."
            ),
        ],
        # ---- page 13 -------------------------------------------------------
        [
            h1("26 51 00 Interior Lighting"),
            p(
                "Interior lighting shall be LED throughout with a correlated colour temperature of "
                "4000 K, a colour rendering index of Ra 80 or better and a luminaire efficacy of at "
                "least 150 lm/W. Warehouse luminaires shall be coordinated with the ceiling sprinkler "
                "layout."
            ),
            table(
                ["Area", "Maintained illuminance", "Uniformity (Uo)", "Notes"],
                [
                    ["Wide-aisle storage", "200 lux at floor", "0.4", "High-bay, wide distribution"],
                    ["VNA aisles", "150 lux vertical on rack face", "0.4", "Aisle-mounted, linear optic"],
                    ["Marshalling and dock zone", "300 lux", "0.6", "Glare-controlled at dock doors"],
                    ["Battery charging room", "200 lux", "0.4", "IP65 luminaires"],
                    ["Plant rooms and switch room", "200 lux", "0.4", "Local switching"],
                    ["Open-plan offices", "500 lux", "0.6", "UGR 19 or less"],
                    ["Corridors and stairs", "100 lux", "0.4", "Presence detection"],
                ],
                [0.30, 0.28, 0.16, 0.26],
            ),
            p(
                "Controls: lighting shall be DALI-addressable. Each warehouse aisle shall have presence "
                "detection that dims the aisle to 10% output when unoccupied, and luminaires within the "
                "daylight zone of the rooflights shall dim in response to daylight."
            ),
            p(
                "Emergency lighting: self-contained LED emergency luminaires with a rated duration of "
                "3 hours, providing at least 1 lux along the centre line of escape routes and 0.5 lux "
                "in open areas. The battery charging room shall be treated as a high-risk task area."
            ),
            p(
                "Lighting calculations shall use a maintenance factor of 0.8 and calculation grids of "
                "not more than 1 m spacing, and shall be submitted with the Stage 4 design together "
                "with the predicted annual lighting energy for each area."
            ),
        ],
        # ---- page 14 -------------------------------------------------------
        [
            h1("26 56 00 Exterior Lighting"),
            p(
                "Exterior lighting shall use LED luminaires with a colour temperature of 3000 K and zero "
                "upward light output, mounted on galvanised steel columns. Obtrusive light at the site "
                "boundary shall not exceed 5 lux vertical illuminance at the windows of neighbouring "
                "properties."
            ),
            table(
                ["Area", "Average maintained illuminance", "Uniformity (Uo)", "Mounting"],
                [
                    ["HGV yard and dock aprons", "30 lux", "0.4", "12 m columns"],
                    ["Trailer park", "20 lux", "0.25", "12 m columns"],
                    ["Car parks", "15 lux", "0.25", "6 m columns"],
                    ["Footpaths and cycle routes", "10 lux", "0.25", "5 m columns"],
                    ["Gatehouse canopy", "100 lux", "0.6", "Canopy recessed"],
                ],
                [0.34, 0.28, 0.18, 0.20],
            ),
            p(
                "Controls: exterior lighting shall be switched by photocell with a time-clock "
                "override. Car park and footpath lighting shall dim to 50% between 23:00 and 05:00; "
                "yard and dock apron lighting shall stay at full output whenever the site is "
                "operating."
            ),
            p(
                "All exterior luminaires shall be rated IP66 and IK08. Columns in the HGV yard shall be "
                "protected by concrete-filled steel bollards on the traffic side."
            ),
            p(
                "Security lighting: the perimeter fence line shall be lit by luminaires switched by "
                "the intruder detection system, so that a detected intrusion raises the light level in "
                "the affected zone and gives the CCTV cameras a usable image."
            ),
        ],
        # ---- page 15 -------------------------------------------------------
        [
            h1("28 13 00 Access Control"),
            p(
                "Access control shall be a networked card system with readers at every external "
                "personnel door, the office reception, the server room and the switch room. Event "
                "logs shall be kept for 12 months."
            ),
            h1("28 23 00 Video Surveillance"),
            p(
                "CCTV shall cover the site perimeter, the gatehouse, the yard, the dock doors (one "
                "camera per two docks) and the car parks. Recordings shall be retained for 31 days, "
                "and cameras at the gatehouse shall provide identification-grade images."
            ),
            h1("28 31 00 Fire Detection and Alarm"),
            p(
                "The fire alarm system shall be addressable, with manual call points throughout and "
                "automatic smoke detection in the office block, transport office, plant rooms and "
                "switch room. In the warehouse the sprinkler installation acts as the automatic "
                "detection: each sprinkler flow switch shall be connected to the fire alarm as a "
                "separate zone."
            ),
            p(
                "A fire alarm signal shall release all hold-open devices, release fail-safe "
                "access-controlled doors, shut down air handling units and transmit a signal to the "
                "alarm receiving centre."
            ),
            h1("Appendix A - Abbreviations"),
            table(
                ["Abbreviation", "Meaning"],
                [
                    ["APR", "Adjustable pallet racking"],
                    ["DM / FM", "Defined movement / free movement (floor surface regularity)"],
                    ["ESFR", "Early suppression fast response (sprinkler)"],
                    ["EV", "Electric vehicle"],
                    ["MHE", "Materials handling equipment"],
                    ["RFI", "Request for information"],
                    ["UGR", "Unified glare rating"],
                    ["VNA", "Very narrow aisle"],
                ],
                [0.25, 0.75],
            ),
        ],
    ],
}


# ---------------------------------------------------------------------------
# 2. Sprinkler Design Standard FP-300  (6 pages)
# ---------------------------------------------------------------------------

SPRINKLER_STANDARD = {
    "path": "ARS GEN 10.0/07 Fire Protection/Sprinkler Design Standard FP-300.pdf",
    "title": "Sprinkler Design Standard FP-300",
    "header_right": "ARS GEN 10.0 | Revision C",
    "footer_left": "FP-300 Rev C | Uncontrolled when printed",
    "subject": "Automatic sprinkler protection for ambient distribution centres",
    "pages": [
        [
            title("Sprinkler Design Standard FP-300"),
            subtitle("Automatic sprinkler protection for ambient distribution centres"),
            subtitle("Revision C - 21 May 2024"),
            h1("1 Scope"),
            p(
                "This standard defines the minimum design, installation and testing requirements for "
                "automatic sprinkler systems in buildings constructed to ARS GEN 10.0. It applies to "
                "the warehouse, office block, transport office, plant rooms and dock canopies. It does "
                "not cover gaseous suppression of the server room, which is specified separately."
            ),
            h1("2 Referenced standards"),
            bullets(
                "NFPA 13, Standard for the Installation of Sprinkler Systems (2022 edition).",
                "NFPA 20, Standard for the Installation of Stationary Pumps for Fire Protection.",
                "The insurer's property loss prevention data sheets for storage occupancies.",
                "The insurer's site-specific recommendations, which prevail over this standard where "
                "they are more onerous.",
            ),
            h1("3 Definitions"),
            table(
                ["Term", "Meaning"],
                [
                    [
                        "ESFR",
                        "Early suppression fast response sprinkler, designed to suppress a high-challenge fire rather than control it",
                    ],
                    ["K-factor", "Discharge coefficient relating flow from a sprinkler to the pressure at its inlet"],
                    [
                        "Design area",
                        "Floor area over which the most remote sprinklers are assumed to operate for the hydraulic calculation",
                    ],
                    ["Valve set", "An alarm valve with its main stop valve, trim, pressure gauges and flow switch"],
                    [
                        "Flue space",
                        "Vertical gap between loads in racking that lets heat rise and water reach lower levels",
                    ],
                ],
                [0.20, 0.80],
            ),
            h1("Revision history"),
            table(
                ["Rev", "Date", "Change"],
                [
                    ["A", "2022-11-02", "First issue"],
                    ["B", "2023-08-15", "Fire pump ratings revised after hydraulic review"],
                    ["C", "2024-05-21", "Dock canopy protection changed to a dry-pipe system"],
                ],
                [0.10, 0.20, 0.70],
            ),
        ],
        [
            h1("4 Hazard classification and design criteria"),
            p(
                "Goods stored in the warehouse are classified as Class III commodities with up to 15% "
                "by volume of cartoned unexpanded Group A plastics. The design shall assume this "
                "commodity throughout the storage area unless the insurer accepts a lower "
                "classification in writing."
            ),
            p(
                "The warehouse storage area shall be protected by ceiling-only ESFR pendent sprinklers "
                "with a K-factor of 25.2 (K360 metric), designed for 12 operating sprinklers at a "
                "minimum end-head pressure of 2.4 bar. This protection is acceptable for a maximum "
                "ceiling height of 13.7 m and a maximum storage height of 12.2 m."
            ),
            table(
                ["Area", "Hazard", "System", "Design basis"],
                [
                    [
                        "Warehouse storage",
                        "High-piled storage, Class III",
                        "Wet, ceiling ESFR",
                        "12 sprinklers at 2.4 bar",
                    ],
                    ["Offices and transport office", "Light hazard", "Wet, quick response", "2.25 mm/min over 84 m2"],
                    [
                        "Plant rooms and switch room",
                        "Ordinary hazard group 1",
                        "Wet, standard response",
                        "5.0 mm/min over 72 m2",
                    ],
                    [
                        "Battery charging room",
                        "Ordinary hazard group 3",
                        "Wet, standard response",
                        "5.0 mm/min over 216 m2",
                    ],
                    ["Dock canopies (unheated)", "Ordinary hazard group 2", "Dry pipe", "5.0 mm/min over 180 m2"],
                ],
                [0.26, 0.26, 0.22, 0.26],
            ),
            p(
                "ESFR sprinklers shall be spaced not more than 3.7 m between sprinklers and not less "
                "than 2.4 m apart, with a maximum coverage of 9.3 m2 per sprinkler. Deflectors shall be "
                "between 150 mm and 355 mm below the underside of the roof deck."
            ),
            p(
                "Sprinklers in the offices shall be concealed pendent type with a white cover plate. "
                "Sprinklers in the battery charging room shall have a corrosion-resistant coating."
            ),
        ],
        [
            h1("5 Water supply"),
            p(
                "The water supply shall be a dedicated sprinkler storage tank with an effective capacity "
                "of 950 m3, sufficient for the warehouse ESFR design flow plus a 1,900 L/min hose "
                "allowance for 60 minutes. The tank shall be a sectional steel tank on a reinforced "
                "concrete base, with an infill from the town main sized to refill it within 36 hours."
            ),
            p(
                "Two fire pumps shall be installed in the pump house, one electric and one diesel, each "
                "capable of delivering the full system demand of 9,000 L/min at 7.5 bar. A jockey pump "
                "shall maintain system pressure. The diesel pump shall have a fuel tank sized for 8 "
                "hours of running at full load."
            ),
            table(
                ["Pump", "Drive", "Duty", "Rating"],
                [
                    ["P1", "Electric motor, 160 kW", "Duty", "9,000 L/min at 7.5 bar"],
                    ["P2", "Diesel engine", "Standby", "9,000 L/min at 7.5 bar"],
                    ["JP1", "Electric motor, 7.5 kW", "Pressure maintenance", "60 L/min at 9.0 bar"],
                ],
                [0.12, 0.30, 0.26, 0.32],
            ),
            p(
                "The pump house shall be a separate building at least 10 m from the warehouse, of "
                "60-minute fire-resisting construction, with separate rooms for the electric and diesel "
                "pumps. The diesel pump room shall be kept at not less than 10 degrees C."
            ),
            p(
                "Pump controllers shall start the pumps automatically on pressure drop. Pumps shall "
                "only be stopped manually at the controller."
            ),
        ],
        [
            h1("6 Storage arrangement and obstructions"),
            p(
                "Racking shall maintain nominal transverse flue spaces of 75 mm and a longitudinal flue "
                "space of 150 mm between back-to-back runs. Flue spaces shall be kept clear of stock, "
                "shrink-wrap overhang and signage."
            ),
            p(
                "In-rack sprinklers are not required where the ceiling ESFR criteria in clause 4 are "
                "met. Where a pick module or mezzanine is installed, sprinklers shall be provided "
                "beneath each level of the mezzanine and the ceiling design shall be checked for "
                "obstruction."
            ),
            p(
                "ESFR sprinklers are sensitive to obstructions. Continuous obstructions wider than "
                "600 mm located below the deflectors, such as ducts, cable trays and lighting trunking, "
                "shall have sprinklers installed beneath them. Individual high-bay luminaires shall be "
                "positioned at least 300 mm horizontally from any sprinkler."
            ),
            p(
                "Solid shelves larger than 2 m2 are not permitted in racking protected by ceiling ESFR "
                "sprinklers. Open-top combustible containers shall not be stored in the racking."
            ),
            p(
                "Floor storage in the dock marshalling area shall not exceed 3.0 m in height and shall "
                "be arranged in blocks with clear aisles of at least 2.4 m between them."
            ),
            p(
                "Idle wooden or plastic pallets shall be stored outside the building, at least 15 m from "
                "the warehouse wall, or inside only in a dedicated area with sprinkler protection "
                "designed for idle pallet storage."
            ),
        ],
        [
            h1("7 Installation and zoning"),
            p(
                "The installation shall be divided into six valve sets, VS-1 to VS-6, each with a "
                "monitored main stop valve, alarm valve, flow switch and water motor alarm gong. Valve "
                "sets VS-1 to VS-4 protect the warehouse, each serving not more than 12,000 m2 of floor "
                "area; VS-5 protects the office block and transport office."
            ),
            p(
                "VS-6 is a dry-pipe valve set serving the unheated dock canopies along the east "
                "elevation. Its pipework shall be galvanised and pitched to drain, and the system shall "
                "deliver water to the most remote sprinkler within 60 seconds of the valve tripping."
            ),
            p(
                "Valve sets shall be grouped in a sprinkler valve room with direct access from outside, "
                "heated to at least 4 degrees C and drained for test water. Each valve set shall have a "
                "block plan showing the area it protects."
            ),
            p(
                "Pipework up to 50 mm shall be screwed or pressed; larger pipework shall be roll-grooved "
                "with mechanical couplings. Hangers shall be fixed to purlins or roof steel and never to "
                "the roof sheeting. Hydraulic calculations shall use a Hazen-Williams C-factor of 120 "
                "for wet systems and 100 for dry systems."
            ),
            p(
                "External fire hydrants: pillar hydrants shall be provided around the building "
                "perimeter at not more than 90 m spacing, each within 18 m of a hardstanding for fire "
                "appliances."
            ),
        ],
        [
            h1("8 Testing, inspection and maintenance"),
            p(
                "All wet pipework shall be hydrostatically tested at 13.8 bar, or at 3.5 bar above the "
                "maximum working pressure if higher, for 2 hours without loss. Dry-pipe systems shall "
                "also be air tested at 2.8 bar for 24 hours with a loss not exceeding 0.1 bar."
            ),
            p(
                "Each fire pump shall undergo a full-flow acceptance test at churn, 100% and 150% of "
                "rated flow before the system is put into service."
            ),
            table(
                ["Frequency", "Routine activity"],
                [
                    [
                        "Weekly",
                        "Start each fire pump automatically by pressure drop; run the diesel pump for 30 minutes; check valve positions and gauge pressures",
                    ],
                    ["Monthly", "Check diesel pump batteries and fuel level; test the water motor alarm gongs"],
                    ["Quarterly", "Test flow switches and alarm transmission to the alarm receiving centre"],
                    ["Annually", "Full-flow pump test; inspect sprinkler heads and hangers; check stock clearances"],
                    ["Every 10 years", "Drain and inspect the inside of the sprinkler storage tank"],
                ],
                [0.20, 0.80],
            ),
            p(
                "Impairments: any planned shutdown of a valve set shall be notified to the insurer "
                "before work starts, and a fire watch shall be kept in the affected area until the "
                "system is restored."
            ),
        ],
    ],
}


# ---------------------------------------------------------------------------
# 3. Drainage Specification DS-12  (5 pages)
# ---------------------------------------------------------------------------

DRAINAGE_SPEC = {
    "path": "Site Civil/Drainage Specification DS-12.pdf",
    "title": "Drainage Specification DS-12",
    "header_right": "Northgate Distribution Centre | Site Civil",
    "footer_left": "DS-12 Issue 3 | Uncontrolled when printed",
    "subject": "Below-ground drainage, attenuation and pollution control",
    "pages": [
        [
            title("Drainage Specification DS-12"),
            subtitle("Below-ground drainage, attenuation and pollution control"),
            subtitle("Issue 3 - 9 July 2024"),
            h1("1 Scope"),
            p(
                "This specification covers below-ground surface water and foul drainage for the "
                "Northgate Distribution Centre, Plot 7, from the external face of the buildings to the "
                "points of connection. The siphonic roof drainage system is specified in the design "
                "criteria; it discharges into the surface water network at the connection points shown "
                "on the surface water drainage layout."
            ),
            h1("2 Points of connection"),
            p(
                "Surface water shall discharge to the Millbrook culvert at the south-west corner of the "
                "site through a single outfall with a flap valve. Foul water shall connect to the public "
                "combined sewer in Station Road through a new manhole built by the sewerage undertaker "
                "under an adoption agreement."
            ),
            h1("3 Standards"),
            bullets(
                "EN 752, Drain and sewer systems outside buildings.",
                "EN 1610, Construction and testing of drains and sewers.",
                "EN 858, Separator systems for light liquids.",
                "EN 1433, Drainage channels for vehicular and pedestrian areas.",
                "EN 124, Gully tops and manhole tops for vehicular and pedestrian areas.",
            ),
        ],
        [
            h1("4 Design criteria"),
            p(
                "Surface water drainage shall be designed so that there is no surcharge of pipes in a "
                "1 in 2 year storm, no surface flooding anywhere on site in a 1 in 30 year storm, and "
                "flood water in a 1 in 100 year storm with a 40% allowance for climate change is "
                "contained on site without flooding any building."
            ),
            table(
                ["Return period", "Performance requirement"],
                [
                    ["1 in 2 years", "No surcharge of pipes above soffit level"],
                    ["1 in 30 years", "No flooding at ground surface"],
                    [
                        "1 in 100 years plus climate change",
                        "Flooding contained within designated exceedance areas, at least 150 mm below finished floor levels",
                    ],
                ],
                [0.35, 0.65],
            ),
            p(
                "Discharge to the watercourse shall be restricted to 12.5 litres per second for all "
                "storms up to and including the 1 in 100 year plus climate change event, equal to the "
                "greenfield runoff rate agreed with the lead local flood authority."
            ),
            p(
                "Roofs, yards and all other hardstanding shall be treated as 100% impermeable. The "
                "Modified Rational Method may be used for pipe sizing; attenuation volumes shall be "
                "found by analysing storm durations from 15 minutes to 7 days."
            ),
        ],
        [
            h1("5 Pipes, manholes and channels"),
            p(
                "Minimum pipe sizes: surface water carrier drains 150 mm diameter; foul drains serving "
                "more than one building 150 mm; foul branches 100 mm. Pipes shall be laid to achieve a "
                "minimum full-bore velocity of 1.0 m/s."
            ),
            p(
                "Pipes up to 450 mm diameter shall be uPVC or polypropylene structured-wall pipe; "
                "larger pipes shall be reinforced concrete. Minimum cover to the pipe crown shall be "
                "1.2 m under trafficked areas and 0.9 m elsewhere; pipes with less cover shall be "
                "surrounded in concrete."
            ),
            p(
                "Manholes or inspection chambers shall be provided at every change of direction, "
                "gradient or pipe size, and at intervals not exceeding 90 m on straight runs."
            ),
            table(
                ["Location", "Load class", "Cover or grating"],
                [
                    ["HGV yard, dock aprons and access roads", "D400", "Ductile iron, hinged, badged SW or FW"],
                    [
                        "Slot drains across dock aprons",
                        "E600",
                        "Monolithic polymer concrete channel with ductile iron edge",
                    ],
                    ["Car parks", "C250", "Ductile iron"],
                    ["Footpaths and landscaped areas", "B125", "Ductile iron"],
                ],
                [0.40, 0.18, 0.42],
            ),
            p(
                "A continuous slot drain shall run across the full width of each dock apron, 3 m from "
                "the dock wall, falling to trapped outlets at not more than 30 m centres."
            ),
        ],
        [
            h1("6 Attenuation and pollution control"),
            p(
                "Attenuation: a below-ground geocellular storage tank holding 2,450 m3 shall be "
                "installed beneath the staff car park, wrapped in an impermeable geomembrane. Outflow "
                "shall be controlled by a vortex flow control device in a dedicated chamber with a "
                "bypass and penstock for maintenance."
            ),
            p(
                "The tank shall be designed for car park traffic loading with at least 0.75 m of cover, "
                "and shall have two inspection shafts and an upstream silt trap."
            ),
            p(
                "Oil separators: runoff from the HGV yard and dock aprons shall pass through a Class 1 "
                "full-retention separator of nominal size NS 30, with an automatic closure device and a "
                "high-level oil alarm connected to the building management system. Car park runoff "
                "shall pass through a Class 1 bypass separator of nominal size NS 15."
            ),
            p(
                "Dangerous goods containment: the slot drain in front of the dangerous goods dock shall "
                "discharge to a sealed containment sump with a capacity of 30 m3, fitted with a "
                "manually operated outlet valve that is locked shut. The sump shall be emptied by "
                "tanker and shall never discharge to the surface water system."
            ),
        ],
        [
            h1("7 Testing and handover"),
            p(
                "Air testing: every gravity drain shall be air tested between manholes. The test "
                "pressure of 100 mm water gauge shall not fall by more than 25 mm in 5 minutes."
            ),
            p(
                "CCTV survey: every drain of 150 mm diameter or larger shall be CCTV surveyed after the "
                "surfacing is complete and before handover. Defects of structural grade 3 or worse "
                "shall be repaired and resurveyed."
            ),
            p(
                "Record information: as-built drawings and the CCTV survey report shall be handed over "
                "within 4 weeks of completing the drainage works, together with the operation and "
                "maintenance manual for the separators, flow controls and attenuation tank."
            ),
            table(
                ["Asset", "Inspection frequency"],
                [
                    ["Oil separators", "Every 6 months and after any spillage"],
                    ["Vortex flow control chamber", "Every 6 months"],
                    ["Geocellular tank and silt traps", "Annually, with jetting as needed"],
                    ["Slot drains and gullies", "Quarterly"],
                ],
                [0.45, 0.55],
            ),
            p(
                "Before handover the contractor shall jet and clean every drain, gully and channel, "
                "remove silt from the attenuation tank silt trap, and demonstrate the operation of the "
                "penstocks and the separator closure device to the client's facilities team."
            ),
        ],
    ],
}


# ---------------------------------------------------------------------------
# 4. Switchgear Requirements  (5 pages)
# ---------------------------------------------------------------------------

SWITCHGEAR = {
    "path": "Electrical/Switchgear Requirements.pdf",
    "title": "Switchgear Requirements",
    "header_right": "Electrical Services | ARS GEN 10.0",
    "footer_left": "EL-SW-01 Rev 2 | Uncontrolled when printed",
    "subject": "HV intake, transformers and low-voltage switchgear",
    "pages": [
        [
            title("Switchgear Requirements"),
            subtitle("HV intake, transformers and low-voltage switchgear"),
            subtitle("Document EL-SW-01, Revision 2 - 2 August 2024"),
            h1("1 Scope"),
            p(
                "This document states the requirements for the high-voltage (HV) intake, the "
                "transformers, the main low-voltage (LV) switchboard and sub-distribution for "
                "distribution centres built to ARS GEN 10.0. It applies to new installations and to "
                "major refurbishments in which the main switchboard is replaced."
            ),
            h1("2 Supply arrangement"),
            p(
                "The site shall take an 11 kV supply from the distribution network operator through a "
                "ring main unit in a dedicated intake substation at the site boundary, with metering at "
                "HV. The authorised supply capacity shall be not less than 1,800 kVA."
            ),
            p(
                "Two 1,600 kVA cast-resin transformers, TX1 and TX2, rated 11/0.4 kV, vector group "
                "Dyn11, shall be installed in the transformer room next to the main switch room. Each "
                "transformer shall be able to carry the full site maximum demand, so that either can "
                "be taken out of service for maintenance."
            ),
            table(
                ["Parameter", "Value"],
                [
                    ["HV supply", "11 kV, 3-phase, 50 Hz"],
                    ["Transformers", "2 x 1,600 kVA, cast resin, Dyn11"],
                    ["LV system", "400/230 V, TN-S"],
                    ["Authorised supply capacity", "1,800 kVA minimum"],
                ],
                [0.50, 0.50],
            ),
        ],
        [
            h1("3 Main LV switchboard MSB-01"),
            p(
                "The main LV switchboard, MSB-01, shall be a type-tested assembly to IEC 61439-2 with "
                "internal separation to Form 4b, Type 6, and bottom cable entry from a cable trench."
            ),
            p(
                "MSB-01 shall have two incoming air circuit breakers, one per transformer, and a "
                "normally open bus-section coupler, interlocked so that no more than two of the three "
                "breakers can be closed at the same time."
            ),
            table(
                ["Rating", "Requirement"],
                [
                    ["Busbar rating", "2,500 A"],
                    ["Short-circuit withstand", "50 kA for 1 second"],
                    ["Degree of protection", "IP31 (indoor switch room)"],
                    ["Form of separation", "Form 4b, Type 6"],
                    ["Spare capacity", "20% spare ways, fully equipped"],
                    ["Metering", "Multifunction meter on every outgoing way"],
                ],
                [0.45, 0.55],
            ),
            p(
                "Outgoing ways rated above 250 A shall be moulded-case circuit breakers with electronic "
                "trip units adjustable for long-time, short-time and instantaneous protection. A "
                "discrimination study shall confirm selectivity between MSB-01 and every "
                "sub-distribution board."
            ),
        ],
        [
            h1("4 Load schedule and maximum demand"),
            p(
                "The load schedule below is the basis for sizing the transformers and MSB-01. Connected "
                "loads are taken from the design; diversity factors are taken from measured data for "
                "comparable sites."
            ),
            table(
                ["Load", "Connected (kW)", "Diversity", "Demand (kW)"],
                [
                    ["Internal and external lighting", "185", "0.9", "167"],
                    ["MHE battery charging", "480", "0.7", "336"],
                    ["Dock levellers, doors and restraints", "110", "0.4", "44"],
                    ["Office HVAC", "220", "0.8", "176"],
                    ["Warehouse heating and destratification fans", "160", "0.8", "128"],
                    ["Small power and IT", "140", "0.6", "84"],
                    ["EV charge points", "310", "0.5", "155"],
                    ["Gatehouse, pump house and external services", "45", "0.7", "32"],
                    ["Total", "1,650", "-", "1,122"],
                ],
                [0.46, 0.18, 0.16, 0.20],
            ),
            p(
                "The after-diversity maximum demand is 1,122 kW, equivalent to about 1,180 kVA at a "
                "power factor of 0.95. The electric fire pump is excluded from the diversity "
                "calculation because it is supplied separately (clause 6)."
            ),
            p(
                "Battery charging is the largest single load. Chargers shall be high-frequency units "
                "with a power factor of at least 0.95 and total harmonic current distortion below 8%."
            ),
        ],
        [
            h1("5 Sub-distribution"),
            p(
                "Sub-distribution boards shall be located in ventilated electrical cupboards or on "
                "platforms clear of MHE routes. Lighting shall be supplied from eight dedicated lighting "
                "distribution boards, DB-L1 to DB-L8; DB-L7 and DB-L8 supply exterior lighting through "
                "contactors controlled by the photocell and time clock."
            ),
            p(
                "All socket-outlet circuits rated up to 32 A and all lighting circuits shall be "
                "protected by RCBOs with a 30 mA residual current rating. Cables shall be low-smoke "
                "zero-halogen."
            ),
            p(
                "An automatic capacitor bank of 300 kVAr with detuning reactors shall be connected to "
                "MSB-01 to keep the power factor at or above 0.95 lagging."
            ),
            h1("6 Life-safety and standby supplies"),
            p(
                "The electric fire pump shall be fed by a dedicated cable connected on the supply side "
                "of the main incoming circuit breaker, so that opening the main breaker does not "
                "disconnect the pump. This cable shall be fire resistant to the enhanced 120-minute "
                "category and routed separately from all other cables."
            ),
            p(
                "A standby generator is not required. A 40 kVA UPS with 15 minutes autonomy shall "
                "support the server room and the warehouse management system network switches."
            ),
        ],
        [
            h1("7 Earthing, testing and labelling"),
            p(
                "The LV system shall be TN-S, with the transformer star points bonded to a main earth "
                "bar in the switch room. The combined resistance of the earth electrodes shall not "
                "exceed 1 ohm."
            ),
            p(
                "Insulation resistance shall be tested at 500 V d.c. on every circuit, with a result of "
                "not less than 1 megohm. Test certificates shall be issued before energisation."
            ),
            p(
                "A thermographic survey of MSB-01 and all sub-distribution boards shall be carried out "
                "under normal operating load between 3 and 6 months after energisation; any hot joints "
                "found shall be remade and resurveyed."
            ),
            p(
                "An arc flash study shall be carried out, and incident energy labels shall be fixed to "
                "MSB-01 and to every board rated above 250 A. No work shall be carried out on live "
                "equipment."
            ),
            p(
                "Spares and records: one spare trip unit shall be supplied for each frame size of air "
                "circuit breaker, and laminated single-line diagrams shall be fixed in the switch "
                "room."
            ),
        ],
    ],
}


# ---------------------------------------------------------------------------
# 5. Slab and Racking Loads SR-04  (4 pages)
# ---------------------------------------------------------------------------

SLAB_RACKING = {
    "path": "ARS GEN 10.0/03 Structure/Slab and Racking Loads SR-04.pdf",
    "title": "Slab and Racking Loads SR-04",
    "header_right": "ARS GEN 10.0 | Structure",
    "footer_left": "SR-04 Revision 4 | Uncontrolled when printed",
    "subject": "Imposed loads for floors, racking and materials handling equipment",
    "pages": [
        [
            title("Slab and Racking Loads SR-04"),
            subtitle("Imposed loads for floors, racking and materials handling equipment"),
            subtitle("Revision 4 - 30 April 2024"),
            h1("1 Scope"),
            p(
                "This standard gives the imposed loads to be used in the structural design of floors, "
                "mezzanines and the warehouse ground-bearing slab, and the loads from racking and "
                "materials handling equipment (MHE). The uniformly distributed load on the warehouse "
                "ground floor is set in the design criteria and is not repeated here."
            ),
            h1("2 Imposed floor loads"),
            table(
                ["Area", "Distributed load", "Concentrated load"],
                [
                    ["Office floors", "3.0 kN/m2 plus 1.0 kN/m2 for partitions", "4.5 kN"],
                    ["Mezzanine pick module", "7.5 kN/m2", "7.0 kN"],
                    ["Plant rooms", "5.0 kN/m2", "4.5 kN"],
                    ["Stairs and landings", "4.0 kN/m2", "4.0 kN"],
                    ["Transport office", "3.0 kN/m2", "4.5 kN"],
                ],
                [0.34, 0.42, 0.24],
            ),
            p(
                "Where plant items are heavier than the distributed load allows, their actual weights "
                "shall be used and shown on the structural drawings."
            ),
            h2("Load combinations"),
            p(
                "Racking loads and MHE loads shall be combined with the floor load for the slab design "
                "using the partial factors of the structural design code. Racking is treated as a "
                "permanent action when fully loaded for design purposes, and the slab shall also be "
                "checked for the pattern of loaded and empty bays that gives the worst effect."
            ),
        ],
        [
            h1("3 Racking loads"),
            p(
                "Racking point loads shall be taken from the racking supplier's calculations, but the "
                "slab shall be designed for not less than the values below. The maximum upright load "
                "for VNA racking is 85 kN per baseplate, and for wide-aisle racking 62 kN per "
                "baseplate, including self-weight and an allowance for placement loads."
            ),
            p(
                "Baseplates shall be not smaller than 150 mm by 120 mm. Back-to-back uprights are "
                "spaced at 300 mm, so the slab shall be checked for the combined load of two adjacent "
                "baseplates, which is 170 kN for VNA racking."
            ),
            p(
                "Each baseplate shall be fixed with two M12 mechanical anchors with an embedment of at "
                "least 90 mm, drilled through the baseplate. Anchors shall not be placed within 150 mm "
                "of a slab joint or saw cut."
            ),
            table(
                ["Rack type", "Max upright load", "Baseplate", "Anchors"],
                [
                    ["Wide-aisle APR", "62 kN", "150 x 120 mm", "2 x M12"],
                    ["VNA APR", "85 kN", "150 x 120 mm", "2 x M12"],
                    ["Pick module columns", "120 kN", "250 x 250 mm", "4 x M16"],
                ],
                [0.34, 0.22, 0.22, 0.22],
            ),
        ],
        [
            h1("4 Materials handling equipment loads"),
            table(
                ["Truck", "Max static wheel load", "Tyre"],
                [
                    ["Counterbalance forklift (dock)", "40 kN", "Solid rubber"],
                    ["Reach truck", "52 kN", "Polyurethane"],
                    ["VNA turret truck", "68 kN", "Polyurethane"],
                    ["Powered pallet truck", "12 kN", "Polyurethane"],
                ],
                [0.45, 0.30, 0.25],
            ),
            p(
                "Wheel loads shall be increased by 40% for dynamic effects in free-movement areas, and "
                "by 20% in VNA aisles, where speeds are lower and the floor is flatter."
            ),
            h1("5 Slab construction"),
            p(
                "The slab shall be 225 mm thick steel-fibre-reinforced concrete with a fibre dosage of "
                "30 kg/m3, laid on a 150 mm granular sub-base and a polythene slip membrane."
            ),
            p(
                "The design modulus of subgrade reaction shall be 0.04 N/mm3, verified by plate bearing "
                "tests at a rate of one test per 2,500 m2 of slab."
            ),
        ],
        [
            h1("6 Rack safety and inspection"),
            p(
                "Every run of racking shall display a load notice at the aisle end stating the maximum "
                "load per beam level and per bay, the supplier and the date of installation. Any change "
                "to beam levels requires a new load notice and a check by the supplier."
            ),
            p(
                "A documented visual inspection shall be carried out weekly by the site's person "
                "responsible for racking safety, and an expert inspection by a qualified rack inspector "
                "at least every 12 months."
            ),
            table(
                ["Damage category", "Action"],
                [
                    ["Green", "Within tolerance; record and monitor"],
                    ["Amber", "Unload when emptied and do not reload; repair within 4 weeks"],
                    ["Red", "Offload and isolate immediately; do not reload until repaired"],
                ],
                [0.30, 0.70],
            ),
            p(
                "Uprights shall not be out of plumb by more than height/350 after installation. Beam "
                "deflection under full load shall not exceed span/200."
            ),
            p(
                "Rack end protectors at least 400 mm high shall be fitted at every aisle end, and "
                "upright protectors at every upright facing a cross aisle or tunnel bay."
            ),
        ],
    ],
}


PDF_DOCUMENTS = [DESIGN_CRITERIA, SPRINKLER_STANDARD, DRAINAGE_SPEC, SWITCHGEAR, SLAB_RACKING]
