package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
	"despacho/migrations"
)

// demoPassword is the password of the demo staff accounts; it is printed when they are made.
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
	return []demoReport{
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
}

// runDemo implements `despacho demo`: it applies pending migrations and loads the demo data.
func runDemo(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return usagef("demo: %v", err)
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

// loadDemo loads the demo staff, customers and reports. It is idempotent: users are found
// by e-mail, customers by phone, and reports by their demo key (an idempotency key), so a
// second run changes nothing. Staff credentials are printed when the users are created.
func loadDemo(ctx context.Context, db *bun.DB, e env) error {
	s, err := businessSLA(e)
	if err != nil {
		return err
	}
	users := postgres.NewUsers(db)
	var agent *dispatch.User
	for _, du := range demoUsers {
		u, err := users.ByEmail(ctx, du.email)
		if dispatch.ErrorKind(err) == dispatch.KindNotFound {
			if u, err = dispatch.NewUser(du.email, du.name, du.role, demoPassword); err != nil {
				return err
			}
			if err = users.Create(ctx, u); err == nil {
				fmt.Fprintf(e.stdout, "demo user %-28s role %-10s password %s\n", du.email, du.role, demoPassword)
			}
		}
		if err != nil {
			return fmt.Errorf("demo user %s: %w", du.email, err)
		}
		if du.role == dispatch.RoleAgent {
			agent = u
		}
	}
	reports := postgres.NewReports(db, postgres.NewEvents(), s)
	by := postgres.Origin{User: agent}
	created := 0
	now := time.Now()
	for i, dr := range demoReports() {
		// Stagger creation times over the last hours so lists and SLA clocks look lived in.
		at := now.Add(-time.Duration(len(demoReports())-i) * 37 * time.Minute)
		nr, err := dr.in.Validate(at)
		if err != nil {
			return fmt.Errorf("demo report %s: %w", dr.key, err)
		}
		c, _, err := reports.Create(ctx, nr, by, postgres.CreateOptions{
			Trusted: true,
			Key:     &postgres.IdempotencyKey{Scope: "demo", Key: dr.key},
			Answer:  func(c *postgres.Created) (int, any) { return 201, map[string]string{"folio": c.Report.Folio} },
		})
		if err != nil {
			return fmt.Errorf("demo report %s: %w", dr.key, err)
		}
		if c == nil {
			continue // loaded before
		}
		created++
		for j, ch := range dr.actions {
			step := at.Add(time.Duration(j+1) * 5 * time.Minute)
			if _, err := reports.Change(ctx, c.Report.Folio, ch, by, step); err != nil {
				return fmt.Errorf("demo report %s, %s: %w", dr.key, ch.Action, err)
			}
		}
	}
	if created > 0 {
		fmt.Fprintf(e.stdout, "demo: %d reports loaded\n", created)
	} else {
		fmt.Fprintln(e.stdout, "demo: already loaded")
	}
	return nil
}
