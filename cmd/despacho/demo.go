package main

import (
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/planning"
	"despacho/dispatch/postgres"
	"despacho/migrations"
)

// demoPassword is the password of the demo staff and technician accounts; it is printed
// when they are made.
const demoPassword = "demo-despacho-2026"

// demoUsers are the demo staff, by e-mail (their natural key).
var demoUsers = []struct {
	email, name string
	role        dispatch.Role
}{
	{"admin@demo.despacho.mx", "Adriana Admin", dispatch.RoleAdmin},
	{"despacho@demo.despacho.mx", "Diego Despachador", dispatch.RoleDispatcher},
	{"agente@demo.despacho.mx", "Alma Agente", dispatch.RoleAgent},
}

// demoTech is one demo technician: his account (by e-mail, its natural key; the technician
// is found by the account linked to it), phone, skills and home base.
type demoTech struct {
	email, name, phone string
	skills             []string
	home               dispatch.LatLon
}

// demoTechs work around Mexico City: every home base lies within 15 km of the centre
// (19.43, -99.13), and among them they cover every skill the demo visits ask for.
var demoTechs = []demoTech{
	{"tecnico1@demo.despacho.mx", "Tomás Treviño", "55 8100 0001", []string{"fiber", "installation"}, dispatch.LatLon{Lat: 19.3950, Lon: -99.0970}},             // Iztacalco
	{"tecnico2@demo.despacho.mx", "Teresa Gutiérrez", "55 8100 0002", []string{"fiber", "wireless"}, dispatch.LatLon{Lat: 19.3500, Lon: -99.1600}},              // Coyoacán
	{"tecnico3@demo.despacho.mx", "Raúl Mendoza", "55 8100 0003", []string{"wireless", "installation"}, dispatch.LatLon{Lat: 19.4900, Lon: -99.1300}},           // Lindavista
	{"tecnico4@demo.despacho.mx", "Carmen Olvera", "55 8100 0004", []string{"fiber"}, dispatch.LatLon{Lat: 19.4850, Lon: -99.1850}},                             // Azcapotzalco
	{"tecnico5@demo.despacho.mx", "Héctor Juárez", "55 8100 0005", []string{"fiber", "wireless", "installation"}, dispatch.LatLon{Lat: 19.3800, Lon: -99.1700}}, // Del Valle
	{"tecnico6@demo.despacho.mx", "Patricia Navarro", "55 8100 0006", []string{"wireless", "installation"}, dispatch.LatLon{Lat: 19.3600, Lon: -99.0600}},       // Iztapalapa
}

// demoShifts is the demo week: Monday to Saturday 08:00–18:00 with a 30-minute lunch taken
// between 13:00 and 15:00.
func demoShifts() []dispatch.WeeklyShift {
	out := make([]dispatch.WeeklyShift, 0, 6)
	for d := 1; d <= 6; d++ {
		out = append(out, dispatch.WeeklyShift{Weekday: d, Start: "08:00", End: "18:00",
			Break: &dispatch.ShiftBreak{Start: "13:00", End: "15:00", Minutes: 30}})
	}
	return out
}

// demoVisit is the home visit a demo fault report gets: the report's demo key, the skill it
// needs, its length and priority (what becomes of it: demoFates).
type demoVisit struct {
	key      string
	skill    string
	minutes  int
	priority int
}

// visitFate is what the demo does with a visit once made.
type visitFate int

const (
	fateBook     visitFate = iota // booked into today's or tomorrow's plan
	fateQueue                     // left without a window: it waits in the board's queue
	fateComplete                  // booked, then completed with its outcome (cause, verdict, restored)
)

// demoVisits are booked in this order, alternately into today's and tomorrow's plan.
var demoVisits = []demoVisit{
	{"demo-01", "fiber", 60, 6}, {"demo-02", "fiber", 60, 3}, {"demo-14", "wireless", 45, 3}, {"demo-03", "fiber", 45, 3},
	{"demo-16", "installation", 90, 3}, {"demo-11", "wireless", 45, 1}, {"demo-13", "fiber", 60, 6}, {"demo-18", "wireless", 60, 3},
	{"demo-15", "fiber", 90, 8}, {"demo-20", "installation", 60, 1}, {"demo-22", "wireless", 60, 3}, {"demo-17", "fiber", 60, 3},
	{"demo-24", "installation", 90, 3}, {"demo-19", "fiber", 60, 6}, {"demo-26", "wireless", 45, 3}, {"demo-21", "fiber", 45, 3},
	{"demo-28", "installation", 60, 1}, {"demo-23", "fiber", 60, 3}, {"demo-25", "fiber", 60, 6}, {"demo-27", "fiber", 60, 3},
	{"demo-29", "fiber", 60, 6}, {"demo-30", "fiber", 60, 8}, {"demo-31", "wireless", 45, 6}, {"demo-32", "installation", 90, 1},
}

// demoFates are the visits not simply booked (fateBook).
var demoFates = map[string]visitFate{"demo-29": fateComplete, "demo-30": fateQueue, "demo-31": fateQueue, "demo-32": fateQueue}

// demoShowcase is the report whose visit the demo completes: its status page, printed with
// its access code, shows the outcome a customer is told.
const demoShowcase = "demo-29"

// demoOutcome is the showcase visit's outcome.
var demoOutcome = dispatch.Outcome{Status: dispatch.VisitCompleted, Cause: "Conector de fibra dañado por humedad; se reemplazó y se selló",
	Verdict: "upheld", ServiceRestored: yes(), Note: "Potencia óptica −19 dBm tras la reparación"}

// demoAges sets how long ago some demo reports were filed (the others are staggered 37
// minutes apart, the last the most recent), so that the board shows report deadlines at
// risk and missed: an urgent fault is given 4 hours, a high-priority one 12.
var demoAges = map[string]time.Duration{
	"demo-30": 3*time.Hour + 30*time.Minute, // urgent: at risk (past 80 % of 4 h)
	"demo-31": 13 * time.Hour,               // high: missed (past 12 h)
}

// demoReport is one demo report: a key (its natural key, kept as an idempotency key), the
// input, and the actions that bring it to its demo status.
type demoReport struct {
	key     string
	in      dispatch.ReportInput
	actions []dispatch.Change
}

func f(v float64) *float64 { return &v }
func yes() *bool           { b := true; return &b }

func demoReports() []demoReport {
	cust := func(name, phone, email, ap string, price float64) dispatch.CustomerInput {
		return dispatch.CustomerInput{Name: name, Phone: phone, Email: email, AccessPoint: ap, PlanPrice: f(price)}
	}
	addr := func(line string, lat, lon float64, zone string) *dispatch.AddressInput {
		return &dispatch.AddressInput{Line: line, Lat: f(lat), Lon: f(lon), Zone: zone}
	}
	maria := cust("María López Hernández", "55 1234 5678", "maria.lopez@example.mx", "AP-COYOACAN-02", 499)
	jorge := cust("Jorge Ramírez", "55 2345 6789", "", "AP-COYOACAN-02", 399)
	lucia := cust("Lucía Fernández", "55 3456 7890", "lucia.f@example.mx", "AP-NARVARTE-01", 649)
	pedro := cust("Pedro Sánchez Ortiz", "55 4567 8901", "", "AP-ROMA-04", 349)
	ana := cust("Ana Torres", "+52 1 55 5678 9012", "ana.torres@example.mx", "AP-DELVALLE-03", 499)
	luis := cust("Luis Martínez", "044 55 6789 0123", "", "AP-ROMA-04", 399)
	sofia := cust("Sofía Castillo", "55 7890 1234", "sofia.c@example.com", "AP-NARVARTE-01", 899)
	start := dispatch.Change{Action: dispatch.ActionStart, Note: "Se contactó al cliente"}
	fault := func(key, channel, priority, subject, description string, c dispatch.CustomerInput, a *dispatch.AddressInput, actions ...dispatch.Change) demoReport {
		return demoReport{key, dispatch.ReportInput{Channel: channel, Kind: "fault", Priority: priority, Subject: subject,
			Description: description, Customer: c, Address: a}, actions}
	}
	out := []demoReport{
		{"demo-01", dispatch.ReportInput{Channel: "phone", Kind: "fault", Priority: "high", Subject: "Sin servicio de internet",
			Description: "El módem tiene la luz LOS en rojo desde la mañana.", Customer: maria,
			Address: addr("Av. Miguel Ángel de Quevedo 687, Coyoacán", 19.3437, -99.1617, "sur")}, nil},
		{"demo-02", dispatch.ReportInput{Channel: "phone", Kind: "fault", Subject: "Internet intermitente",
			Description: "Se corta la conexión cada media hora.", Customer: jorge,
			Address: addr("Calle Francisco Sosa 202, Coyoacán", 19.3466, -99.1700, "sur")}, []dispatch.Change{start}},
		{"demo-03", dispatch.ReportInput{Channel: "web", Kind: "fault", Subject: "Velocidad muy baja",
			Description: "Contraté 100 Mbps y recibo 8 Mbps.", Customer: lucia,
			Address: addr("Eje Central Lázaro Cárdenas 1020, Narvarte", 19.3950, -99.1480, "centro")},
			[]dispatch.Change{start, {Action: dispatch.ActionAwaitVisit, Note: "Requiere visita para revisar la ONT"}}},
		{"demo-04", dispatch.ReportInput{Channel: "email", Kind: "clarification", Subject: "Cobro duplicado",
			Description: "En mi recibo de noviembre aparece el cargo dos veces.", Customer: lucia}, nil},
		{"demo-05", dispatch.ReportInput{Channel: "in_person", Kind: "complaint", Subject: "Mala atención del técnico",
			Description: "El técnico llegó tres horas tarde y no resolvió.", Customer: pedro,
			Address: addr("Calle Orizaba 150, Roma Norte", 19.4172, -99.1600, "centro")},
			[]dispatch.Change{start, {Action: dispatch.ActionWaitCustomer, Reason: "Esperamos fotos de la instalación"}}},
		{"demo-06", dispatch.ReportInput{Channel: "phone", Kind: "inquiry", Subject: "Cambio de paquete",
			Description: "Quiere saber el precio del paquete de 200 Mbps.", Customer: ana},
			[]dispatch.Change{start, {Action: dispatch.ActionResolve, Cause: "Información de paquetes proporcionada", Verdict: "upheld"}}},
		{"demo-07", dispatch.ReportInput{Channel: "sms", Kind: "fault", Priority: "urgent", Subject: "Sin servicio",
			Description: "No hay internet ni teléfono.", Customer: luis,
			Address: addr("Calle Tonalá 80, Roma Norte", 19.4155, -99.1610, "centro")},
			[]dispatch.Change{start, {Action: dispatch.ActionResolve, Cause: "Fibra dañada en la calle; se reemplazó el tramo", Verdict: "upheld", ServiceRestored: yes()}}},
		{"demo-08", dispatch.ReportInput{Channel: "web", Kind: "suggestion", Subject: "App para pagos",
			Description: "Sería útil pagar desde una aplicación.", Customer: sofia}, nil},
		{"demo-09", dispatch.ReportInput{Channel: "phone", Kind: "cancellation", Subject: "Cancelación por mudanza",
			Description: "Se muda a otra ciudad sin cobertura.", Customer: pedro},
			[]dispatch.Change{start, {Action: dispatch.ActionResolve, Cause: "Servicio dado de baja", Verdict: "upheld"}, {Action: dispatch.ActionClose}}},
		{"demo-10", dispatch.ReportInput{Channel: "email", Kind: "other", Subject: "Constancia de servicio",
			Description: "Solicita una constancia de domicilio con el servicio.", Customer: sofia},
			[]dispatch.Change{{Action: dispatch.ActionCancel, Reason: "Duplicado del folio anterior"}}},
		{"demo-11", dispatch.ReportInput{Channel: "in_person", Kind: "fault", Priority: "low", Subject: "Router se reinicia",
			Description: "El router se reinicia solo por las noches.", Customer: ana,
			Address: addr("Av. Coyoacán 1435, Del Valle", 19.3735, -99.1710, "sur")},
			[]dispatch.Change{start, {Action: dispatch.ActionResolve, Cause: "Fuente de poder defectuosa; se cambió", Verdict: "upheld", ServiceRestored: yes()},
				{Action: dispatch.ActionReopen, Reason: "Volvió a fallar"}}},
		{"demo-12", dispatch.ReportInput{Channel: "phone", Kind: "complaint", Subject: "Cobro de reconexión",
			Description: "Le cobraron reconexión sin haber suspensión.", Customer: jorge},
			[]dispatch.Change{start, {Action: dispatch.ActionAssignArea, Area: "billing"},
				{Action: dispatch.ActionResolve, Cause: "El cargo sí correspondía a una suspensión por falta de pago", Verdict: "not_upheld"}}},
	}
	// Fault reports across the city that get a home visit (demoVisits), so the board and the
	// technicians' routes have a day's work.
	ricardo := cust("Ricardo Vega Morales", "55 5101 2201", "ricardo.vega@example.mx", "AP-POLANCO-01", 899)
	elena := cust("Elena Ruiz", "55 5101 2202", "", "AP-CONDESA-02", 499)
	manuel := cust("Manuel Ortega", "55 5101 2203", "", "AP-CENTRO-01", 349)
	gabriela := cust("Gabriela Flores", "55 5101 2204", "gaby.flores@example.com", "AP-LINDAVISTA-01", 649)
	arturo := cust("Arturo Domínguez", "55 5101 2205", "", "AP-AZCAPO-02", 399)
	rosa := cust("Rosa María Chávez", "55 5101 2206", "", "AP-IZTACALCO-01", 499)
	fernando := cust("Fernando Reyes", "55 5101 2207", "f.reyes@example.mx", "AP-IZTAPALAPA-03", 349)
	claudia := cust("Claudia Medina", "55 5101 2208", "", "AP-TLATELOLCO-01", 399)
	javier := cust("Javier Aguilar", "55 5101 2209", "", "AP-STAMARIA-01", 499)
	monica := cust("Mónica Herrera", "55 5101 2210", "monica.h@example.mx", "AP-ESCANDON-01", 649)
	raul := cust("Raúl Cruz", "55 5101 2211", "", "AP-PORTALES-02", 399)
	silvia := cust("Silvia Romero", "55 5101 2212", "", "AP-CHURUBUSCO-01", 499)
	oscar := cust("Óscar Jiménez", "55 5101 2213", "", "AP-BALBUENA-01", 349)
	patricia := cust("Patricia Morales", "55 5101 2214", "paty.morales@example.com", "AP-ANZURES-01", 899)
	hugo := cust("Hugo Salinas", "55 5101 2215", "", "AP-AGRICOLA-01", 399)
	veronica := cust("Verónica Ríos", "55 5101 2216", "", "AP-TACUBA-01", 499)
	return append(out,
		fault("demo-13", "phone", "high", "Sin internet desde ayer", "La ONT no enciende la luz PON.", ricardo,
			addr("Av. Presidente Masaryk 111, Polanco", 19.4320, -99.1930, "poniente"), start),
		fault("demo-14", "web", "", "Señal inalámbrica débil", "La antena del techo se movió con el viento.", elena,
			addr("Av. Amsterdam 240, Hipódromo Condesa", 19.4110, -99.1700, "centro")),
		fault("demo-15", "phone", "urgent", "Fibra cortada en la calle", "Obras en la calle cortaron el cable de la casa.", manuel,
			addr("República de Uruguay 45, Centro Histórico", 19.4310, -99.1360, "centro"), start),
		fault("demo-16", "in_person", "", "Cambio de lugar del módem", "Remodelación: hay que reinstalar el módem en otro cuarto.", gabriela,
			addr("Av. Montevideo 363, Lindavista", 19.4880, -99.1300, "norte")),
		fault("demo-17", "sms", "", "Internet lento por las tardes", "De 18 a 22 h la velocidad baja a 2 Mbps.", arturo,
			addr("Calle Morelos 12, Azcapotzalco Centro", 19.4840, -99.1860, "norte")),
		fault("demo-18", "phone", "", "Antena sin enlace", "El equipo de la antena no enlaza con el punto de acceso.", rosa,
			addr("Av. Té 950, Granjas México", 19.3950, -99.1000, "oriente"), start),
		fault("demo-19", "phone", "high", "Sin servicio", "Sin internet ni telefonía desde la lluvia de anoche.", fernando,
			addr("Calz. Ermita Iztapalapa 1200, Iztapalapa", 19.3570, -99.0750, "oriente")),
		fault("demo-20", "email", "low", "Instalar segundo punto de acceso", "Pide un repetidor para el segundo piso.", claudia,
			addr("Eje Central Lázaro Cárdenas 700, Nonoalco Tlatelolco", 19.4500, -99.1400, "norte")),
		fault("demo-21", "web", "", "Conector de fibra suelto", "El cable amarillo se dobló y se soltó del módem.", javier,
			addr("Dr. Atl 150, Santa María la Ribera", 19.4500, -99.1600, "centro")),
		fault("demo-22", "phone", "", "Cortes de señal inalámbrica", "La conexión se pierde varias veces al día.", monica,
			addr("Calle José Martí 80, Escandón", 19.4020, -99.1800, "poniente"), start),
		fault("demo-23", "sms", "", "Luz LOS encendida", "El módem muestra LOS en rojo.", raul,
			addr("Calz. de Tlalpan 1500, Portales", 19.3680, -99.1420, "sur")),
		fault("demo-24", "in_person", "", "Reinstalación tras mudanza interna", "Se cambió de departamento en el mismo edificio.", silvia,
			addr("Calle Héroes del 47 50, San Diego Churubusco", 19.3580, -99.1520, "sur")),
		fault("demo-25", "phone", "high", "Sin internet en el negocio", "Tienda sin terminal de cobro por falta de internet.", oscar,
			addr("Av. Fray Servando Teresa de Mier 400, Jardín Balbuena", 19.4220, -99.1100, "oriente"), start),
		fault("demo-26", "web", "", "Antena dañada por granizo", "La granizada rompió la cubierta de la antena.", patricia,
			addr("Calle Darwin 74, Anzures", 19.4280, -99.1780, "poniente")),
		fault("demo-27", "phone", "", "Internet intermitente", "Se desconecta cada vez que llueve.", hugo,
			addr("Av. Sur 8 220, Agrícola Oriental", 19.3950, -99.0700, "oriente")),
		fault("demo-28", "email", "low", "Cableado nuevo para oficina", "Pide llevar la conexión a la oficina del fondo.", veronica,
			addr("Calz. México-Tacuba 900, Tacuba", 19.4590, -99.1870, "poniente")),
		// demo-29's visit is completed; demo-30 to demo-32 wait in the queue for a window.
		fault("demo-29", "phone", "high", "Sin internet tras la tormenta", "Desde la lluvia de ayer el módem no sincroniza.",
			cust("Beatriz Núñez", "55 5101 2217", "beatriz.n@example.mx", "AP-NARVARTE-01", 499),
			addr("Calle Pitágoras 1100, Narvarte Poniente", 19.3890, -99.1560, "centro"), start),
		fault("demo-30", "phone", "urgent", "Hospital sin enlace", "El consultorio no tiene enlace desde las 7 de la mañana.",
			cust("Consultorio Dr. Salas", "55 5101 2218", "", "AP-DOCTORES-01", 1299),
			addr("Dr. Vértiz 300, Doctores", 19.4200, -99.1450, "centro"), start),
		fault("demo-31", "sms", "high", "Antena sin señal", "La antena no enciende desde anoche.",
			cust("Gerardo Luna", "55 5101 2219", "", "AP-COYOACAN-02", 399),
			addr("Av. Universidad 1800, Oxtopulco", 19.3450, -99.1800, "sur")),
		fault("demo-32", "web", "low", "Instalación de servicio nuevo", "Cliente nuevo: instalar fibra en casa.",
			cust("Isabel Prieto", "55 5101 2220", "isabel.p@example.com", "AP-DELVALLE-03", 649),
			addr("Calle Pilares 500, Del Valle Sur", 19.3750, -99.1650, "sur")),
	)
}

// runDemo implements `despacho demo`: it applies pending migrations and loads the demo data.
func runDemo(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := parseFlags(fs, args, e.stdout, "demo", `Loads the demo data (technicians, customers, reports, visits, accounts) into the
database; running it again changes nothing.`); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("demo: unexpected argument %q", fs.Arg(0))
	}
	if _, err := businessSLA(e); err != nil {
		return err
	}
	db, closeDB, err := openDatabase(ctx, e, newLogger(e), 5)
	if err != nil {
		return err
	}
	defer closeDB()
	if _, err := migrations.Apply(ctx, db); err != nil {
		return err
	}
	return loadDemo(ctx, db, e)
}

// loadDemo loads the demo staff, technicians, customers, reports and visits. It is
// idempotent, every row being found by its natural key before it is made: users by e-mail,
// technicians by their linked account, customers by phone, reports by customer, subject and
// the demo agent who filed them (and their demo key, an idempotency key), visits by report.
// A second run changes nothing. Every run prints the accounts and the showcase status link.
func loadDemo(ctx context.Context, db *bun.DB, e env) error {
	s, err := businessSLA(e)
	if err != nil {
		return err
	}
	// One event log writer for every store, as serve has.
	events := postgres.NewEvents()
	users := postgres.NewUsers(db)
	var agent, dispatcher *dispatch.User
	usersMade := 0
	ensureUser := func(email, name string, role dispatch.Role) (*dispatch.User, error) {
		u, err := users.ByEmail(ctx, email)
		if dispatch.ErrorKind(err) == dispatch.KindNotFound {
			if u, err = dispatch.NewUser(email, name, role, demoPassword); err != nil {
				return nil, err
			}
			if err = users.Create(ctx, u); err == nil {
				usersMade++
			}
		}
		if err != nil {
			return nil, fmt.Errorf("demo user %s: %w", email, err)
		}
		return u, nil
	}
	for _, du := range demoUsers {
		u, err := ensureUser(du.email, du.name, du.role)
		if err != nil {
			return err
		}
		switch du.role {
		case dispatch.RoleAgent:
			agent = u
		case dispatch.RoleDispatcher:
			dispatcher = u
		}
	}

	techs := postgres.NewTechnicians(db, events)
	techsMade := 0
	for _, dt := range demoTechs {
		u, err := ensureUser(dt.email, dt.name, dispatch.RoleTechnician)
		if err != nil {
			return err
		}
		if u.Role != dispatch.RoleTechnician {
			continue // an admin gave the account another role: leave it be
		}
		_, err = techs.ByUser(ctx, u.ID)
		if dispatch.ErrorKind(err) == dispatch.KindNotFound {
			t := &dispatch.Technician{Name: dt.name, Phone: dt.phone, UserID: u.ID, Skills: slices.Clone(dt.skills),
				Home: dt.home, Shifts: demoShifts()}
			if err = techs.Create(ctx, t, dispatcher); err == nil {
				techsMade++
			}
		}
		if err != nil {
			return fmt.Errorf("demo technician %s: %w", dt.email, err)
		}
	}

	reports := postgres.NewReports(db, events, s)
	by := postgres.Origin{User: agent}
	created := 0
	now := time.Now()
	// The showcase visit was done on the last working day (Monday to Saturday) before
	// today: a finished visit belongs to the past, not to a plan still to be worked.
	showcaseDay := demoShowcaseDay(now.In(s.Calendar.Location()))
	type ref struct {
		id    int64
		folio string
	}
	refs := map[string]ref{}
	all := demoReports()
	for i, dr := range all {
		// Stagger creation times over the last hours so lists and SLA clocks look lived in.
		at := now.Add(-time.Duration(len(all)-i) * 37 * time.Minute)
		if ago, ok := demoAges[dr.key]; ok {
			at = now.Add(-ago)
		}
		if dr.key == demoShowcase {
			at = showcaseDay.Add(7 * time.Hour) // filed early on the day its visit was made
		}
		nr, err := dr.in.Validate(at)
		if err != nil {
			return fmt.Errorf("demo report %s: %w", dr.key, err)
		}
		// The idempotency key alone is not enough: serve purges keys after a day.
		id, folio, err := findDemoReport(ctx, db, nr, agent.ID)
		if err != nil {
			return fmt.Errorf("demo report %s: %w", dr.key, err)
		}
		if id != 0 {
			refs[dr.key] = ref{id, folio}
			continue // loaded before
		}
		c, answer, err := reports.Create(ctx, nr, by, postgres.CreateOptions{
			Trusted: true,
			Key:     &postgres.IdempotencyKey{Scope: "demo", Key: dr.key},
			Answer:  func(c *postgres.Created) (int, any) { return 201, map[string]string{"folio": c.Report.Folio} },
		})
		if err != nil {
			return fmt.Errorf("demo report %s: %w", dr.key, err)
		}
		if c == nil {
			// Loaded before under this key, then changed beyond recognition: leave it.
			if answer != nil && answer.ReportID != 0 {
				var folio string
				if err := db.NewSelect().Table("reports").Column("folio").Where("id = ?", answer.ReportID).Scan(ctx, &folio); err == nil {
					refs[dr.key] = ref{answer.ReportID, folio}
				}
			}
			continue
		}
		created++
		refs[dr.key] = ref{c.Report.ID, c.Report.Folio}
		if dr.key == demoShowcase {
			// Its status link is printed on every run: give it a code the demo can work out
			// again (see demoAccessCode) instead of the random one shown once.
			hash := dispatch.HashAccessCode(c.Report.Folio, demoAccessCode(agent, c.Report.Folio))
			if _, err := db.NewUpdate().Table("reports").Set("access_code_hash = ?", hash).Where("id = ?", c.Report.ID).Exec(ctx); err != nil {
				return fmt.Errorf("demo report %s: %w", dr.key, postgres.Wrap(err))
			}
		}
		for j, ch := range dr.actions {
			step := at.Add(time.Duration(j+1) * 5 * time.Minute)
			if _, err := reports.Change(ctx, c.Report.Folio, ch, by, step); err != nil {
				return fmt.Errorf("demo report %s, %s: %w", dr.key, ch.Action, err)
			}
		}
	}

	visits := postgres.NewVisits(db, events, reports, planning.Config{Zone: s.Calendar.Location()})
	cfg := visits.Config()
	today := cfg.Day(now)
	days := map[string]int{}
	booked, unbooked, queued, completed := 0, 0, 0, 0
	for i, dv := range demoVisits {
		r, ok := refs[dv.key]
		if !ok {
			continue
		}
		had, err := visits.ByReport(ctx, r.id)
		if err != nil {
			return fmt.Errorf("demo visit %s: %w", dv.key, err)
		}
		if len(had) > 0 {
			continue // made before (whatever became of it since)
		}
		made := now
		if demoFates[dv.key] == fateComplete {
			made = showcaseDay.Add(7*time.Hour + 30*time.Minute)
		}
		v, err := visits.Create(ctx, r.folio, dispatch.NewVisit{DurationMin: dv.minutes, Skills: []string{dv.skill}, Priority: dv.priority}, dispatcher, made)
		if dispatch.ErrorKind(err) == dispatch.KindConflict {
			continue // the report was closed meanwhile
		}
		if err != nil {
			return fmt.Errorf("demo visit %s: %w", dv.key, err)
		}
		if demoFates[dv.key] == fateQueue {
			queued++
			continue
		}
		if demoFates[dv.key] == fateComplete {
			done, err := completeDemoVisit(ctx, visits, v.ID, showcaseDay, dispatcher)
			if err != nil {
				return fmt.Errorf("demo visit %s: %w", dv.key, err)
			}
			if done {
				completed++
			} else {
				unbooked++
			}
			continue
		}
		// Today's plan takes the even ones, tomorrow's the odd ones; when that day has no
		// room (a Sunday, late in the day) the first days that have take them.
		ws, err := visits.Slots(ctx, v.ID, today, 4, now)
		if err != nil {
			return fmt.Errorf("demo visit %s: %w", dv.key, err)
		}
		want := today
		if i%2 == 1 {
			want = cfg.NextDay(today)
		}
		b, err := bookDemoVisit(ctx, visits, v.ID, demoSlotOrder(ws, cfg, want, i/2), dispatcher, now)
		if err != nil {
			return fmt.Errorf("demo visit %s: %w", dv.key, err)
		}
		if b == nil {
			unbooked++
			continue
		}
		booked++
		days[b.PlanDay]++
	}
	// Record the deadlines already at risk or missed, as serve's SLA job does every minute,
	// so that the timelines say so even before serve runs.
	atRisk, breached, err := reports.MarkSLA(ctx, now)
	if err != nil {
		return fmt.Errorf("demo SLA marks: %w", err)
	}

	if usersMade > 0 {
		fmt.Fprintf(e.stdout, "demo: %d accounts made\n", usersMade)
	}
	if techsMade > 0 {
		fmt.Fprintf(e.stdout, "demo: %d technicians loaded\n", techsMade)
	}
	if created > 0 {
		fmt.Fprintf(e.stdout, "demo: %d reports loaded\n", created)
	}
	if booked > 0 || unbooked > 0 {
		keys := make([]string, 0, len(days))
		for d := range days {
			keys = append(keys, d)
		}
		slices.Sort(keys)
		fmt.Fprintf(e.stdout, "demo: %d visits booked", booked)
		for _, d := range keys {
			fmt.Fprintf(e.stdout, ", %d on %s", days[d], d)
		}
		if unbooked > 0 {
			fmt.Fprintf(e.stdout, "; %d left unscheduled (no free window)", unbooked)
		}
		fmt.Fprintln(e.stdout)
	}
	if queued > 0 || completed > 0 {
		fmt.Fprintf(e.stdout, "demo: %d visits waiting for a window in the board's queue, %d completed\n", queued, completed)
	}
	if atRisk > 0 || breached > 0 {
		fmt.Fprintf(e.stdout, "demo: report deadlines marked: %d at risk, %d missed\n", atRisk, breached)
	}
	if usersMade == 0 && techsMade == 0 && created == 0 && booked == 0 && unbooked == 0 && queued == 0 && completed == 0 {
		fmt.Fprintln(e.stdout, "demo: already loaded")
	}
	return printDemoAccess(ctx, db, e, agent, refs[demoShowcase].folio)
}

// printDemoAccess prints, on every run, how to get in: the demo accounts (whatever their
// role, with the demo password unless someone changed it) and the status page of the
// completed showcase visit with its access code, when that code still opens it.
func printDemoAccess(ctx context.Context, db bun.IDB, e env, agent *dispatch.User, folio string) error {
	base := demoBaseURL(e)
	fmt.Fprintf(e.stdout, "demo accounts (password %s unless changed), sign in at %s/login:\n", demoPassword, base)
	for _, du := range demoUsers {
		fmt.Fprintf(e.stdout, "  %-11s %s\n", du.role, du.email)
	}
	for _, dt := range demoTechs {
		fmt.Fprintf(e.stdout, "  %-11s %s (%s)\n", dispatch.RoleTechnician, dt.email, dt.name)
	}
	if folio == "" {
		return nil
	}
	var hash []byte
	if err := db.NewSelect().Table("reports").Column("access_code_hash").Where("folio = ?", folio).Scan(ctx, &hash); err != nil {
		return fmt.Errorf("demo showcase %s: %w", folio, postgres.Wrap(err))
	}
	code := demoAccessCode(agent, folio)
	if r := (dispatch.Report{Folio: folio, AccessCodeHash: hash}); r.CheckAccessCode(code) {
		fmt.Fprintf(e.stdout, "customer status page of a completed visit: %s/estado/%s?code=%s\n", base, folio, code)
	}
	return nil
}

// demoAccessCode is the access code of the demo's showcase report. It is derived from the
// demo agent's stored password hash (random salt, per database) and the folio, so the demo
// can print it on every run while nobody can work it out from the source.
func demoAccessCode(agent *dispatch.User, folio string) string {
	const alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ" // dispatch's: no look-alikes
	sum := sha256.Sum256([]byte("despacho demo access code\x00" + agent.PasswordHash + "\x00" + folio))
	out := make([]byte, dispatch.AccessCodeLen)
	for i := range out {
		out[i] = alphabet[int(sum[i])%len(alphabet)]
	}
	return string(out)
}

// demoBaseURL is where serve will listen, as far as the settings tell: PUBLIC_BASE_URL, else
// http://localhost with HTTP_ADDR's port.
func demoBaseURL(e env) string {
	if u := strings.TrimRight(e.getenv("PUBLIC_BASE_URL"), "/"); u != "" {
		return u
	}
	addr := e.getenv("HTTP_ADDR")
	if addr == "" {
		addr = ":8080"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "0" {
		return "http://localhost:8080"
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// demoShowcaseDay is local midnight of the last working day (Monday to Saturday, the demo
// shifts) before the day of now.
func demoShowcaseDay(now time.Time) time.Time {
	d := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	for {
		d = d.AddDate(0, 0, -1)
		if d.Weekday() != time.Sunday {
			return d
		}
	}
}

// completeDemoVisit books visit id in the first window the plan of day offers, as it stood
// that morning, and records the technician's steps at their times that day (en route, on
// site, completed with demoOutcome, which resolves the report). False when day offered no
// window (a holiday).
func completeDemoVisit(ctx context.Context, visits *postgres.Visits, id int64, day time.Time, actor *dispatch.User) (bool, error) {
	morning := day.Add(7*time.Hour + 45*time.Minute)
	ws, err := visits.Slots(ctx, id, day, 1, morning)
	if err != nil {
		return false, err
	}
	b, err := bookDemoVisit(ctx, visits, id, ws, actor, morning)
	if err != nil || b == nil {
		return false, err
	}
	arrive := b.PlannedArrival
	if arrive.IsZero() {
		arrive = b.Window.Start
	}
	steps := []struct {
		o  dispatch.Outcome
		at time.Time
	}{
		{dispatch.Outcome{Status: dispatch.VisitEnRoute}, arrive.Add(-25 * time.Minute)},
		{dispatch.Outcome{Status: dispatch.VisitOnSite}, arrive},
		{demoOutcome, arrive.Add(time.Duration(b.DurationMin) * time.Minute)},
	}
	for _, st := range steps {
		if _, err := visits.SetStatus(ctx, id, st.o, actor, st.at); err != nil {
			return false, fmt.Errorf("%s: %w", st.o.Status, err)
		}
	}
	return true, nil
}

// findDemoReport returns the id and folio of the report the demo agent filed with nr's
// subject for nr's customer (by phone, else e-mail), or 0 when there is none.
func findDemoReport(ctx context.Context, db bun.IDB, nr *dispatch.NewReport, agentID int64) (int64, string, error) {
	var rows []struct {
		ID    int64
		Folio string
	}
	q := db.NewSelect().TableExpr("reports AS r").ColumnExpr("r.id, r.folio").
		Join("JOIN customers AS c ON c.id = r.customer_id").
		Where("r.subject = ?", nr.Report.Subject).Where("r.created_by = ?", agentID).
		OrderExpr("r.id").Limit(1)
	if nr.Customer.Phone != "" {
		q = q.Where("c.phone = ?", nr.Customer.Phone)
	} else {
		q = q.Where("c.email = ?", nr.Customer.Email)
	}
	if err := q.Scan(ctx, &rows); err != nil {
		return 0, "", postgres.Wrap(err)
	}
	if len(rows) == 0 {
		return 0, "", nil
	}
	return rows[0].ID, rows[0].Folio, nil
}

// demoSlotOrder orders the offered windows to try: those on day want first, then the other
// days in turn. Within a day it starts at the n-th window (cycling), so that successive
// demo visits spread over the day rather than all asking for the first window.
func demoSlotOrder(ws []dispatch.Span, cfg planning.Config, want time.Time, n int) []dispatch.Span {
	var days []time.Time
	byDay := map[time.Time][]dispatch.Span{}
	for _, w := range ws {
		d := cfg.Day(w.Start)
		if _, ok := byDay[d]; !ok {
			days = append(days, d)
		}
		byDay[d] = append(byDay[d], w)
	}
	if i := slices.IndexFunc(days, want.Equal); i > 0 {
		days = slices.Concat(days[i:i+1], days[:i], days[i+1:])
	}
	out := make([]dispatch.Span, 0, len(ws))
	for _, d := range days {
		on := byDay[d]
		k := n % len(on)
		out = append(append(out, on[k:]...), on[:k]...)
	}
	return out
}

// bookDemoVisit books the first of the windows that can still be kept; nil when none can.
func bookDemoVisit(ctx context.Context, visits *postgres.Visits, id int64, ws []dispatch.Span, actor *dispatch.User, now time.Time) (*dispatch.Visit, error) {
	for _, w := range ws {
		v, err := visits.Book(ctx, id, w, actor, now)
		if dispatch.ErrorKind(err) == dispatch.KindConflict {
			continue
		}
		return v, err
	}
	return nil, nil
}
