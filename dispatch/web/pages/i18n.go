package pages

import (
	"net/http"
	"strings"

	"golang.org/x/text/language"
)

// Lang is a language the pages are written in.
type Lang string

// The languages of the pages; Spanish is the default.
const (
	ES Lang = "es"
	EN Lang = "en"
)

// LangCookie remembers the language a visitor chose with ?lang=.
const LangCookie = "despacho_lang"

var langMatcher = language.NewMatcher([]language.Tag{language.Spanish, language.English})

// pickLang chooses the page language: ?lang= (remembered in a cookie), then the cookie, then
// Accept-Language, then Spanish. It sets the cookie when ?lang= names a language.
func pickLang(w http.ResponseWriter, r *http.Request) Lang {
	if q := Lang(r.URL.Query().Get("lang")); q == ES || q == EN {
		http.SetCookie(w, &http.Cookie{Name: LangCookie, Value: string(q), Path: "/", MaxAge: 365 * 24 * 3600, SameSite: http.SameSiteLaxMode})
		return q
	}
	if c, err := r.Cookie(LangCookie); err == nil && (Lang(c.Value) == ES || Lang(c.Value) == EN) {
		return Lang(c.Value)
	}
	if al := r.Header.Get("Accept-Language"); al != "" && len(al) < 500 {
		tags, _, err := language.ParseAcceptLanguage(al)
		if err == nil && len(tags) > 0 {
			_, i, conf := langMatcher.Match(tags...)
			if conf != language.No && i == 1 {
				return EN
			}
		}
	}
	return ES
}

// T returns the text of key in lang, falling back to Spanish and then to the key itself,
// so that a missing translation shows up on the page instead of breaking it.
func T(lang Lang, key string) string {
	if m, ok := catalog[key]; ok {
		if s := m[lang]; s != "" {
			return s
		}
		return m[ES]
	}
	return key
}

// jsCatalog returns the strings the script of a page needs (keys without the "page."
// prefix), in lang. Keys starting with "adm." go only to the admin page's script: the
// technician's page, loaded over poor 3G, does not carry them.
func jsCatalog(lang Lang, script string) map[string]string {
	out := make(map[string]string, len(catalog))
	for k := range catalog {
		if strings.HasPrefix(k, "page.") || (strings.HasPrefix(k, "adm.") && script != "admin") {
			continue
		}
		out[k] = T(lang, k)
	}
	return out
}

type tr map[Lang]string

// catalog holds every text of the pages. Keys starting with "page." are only used by
// templates; the rest are also handed to the scripts.
var catalog = map[string]tr{
	// Chassis.
	"page.skip":         {ES: "Saltar al contenido", EN: "Skip to content"},
	"page.switch_lang":  {ES: "English", EN: "Español"},
	"page.switch_label": {ES: "View this page in English", EN: "Ver esta página en español"},
	"page.signout":      {ES: "Salir", EN: "Sign out"},
	"page.nav.board":    {ES: "Tablero", EN: "Board"},
	"page.nav.desk":     {ES: "Atención", EN: "Desk"},
	"page.nav.tech":     {ES: "Mi ruta", EN: "My route"},
	"page.forbidden":    {ES: "Su usuario no tiene acceso a esta página.", EN: "Your user may not open this page."},
	"page.noscript":     {ES: "Esta página necesita JavaScript.", EN: "This page needs JavaScript."},
	"page.required":     {ES: "obligatorio", EN: "required"},
	"page.optional":     {ES: "opcional", EN: "optional"},

	// Sign-in.
	"page.login.title":    {ES: "Iniciar sesión", EN: "Sign in"},
	"page.login.email":    {ES: "Correo electrónico", EN: "E-mail"},
	"page.login.password": {ES: "Contraseña", EN: "Password"},
	"page.login.submit":   {ES: "Entrar", EN: "Sign in"},

	// Public report form.
	"page.report.title":       {ES: "Reportar una falla o hacer un trámite", EN: "Report a fault or make a request"},
	"page.report.intro":       {ES: "Le daremos un folio para dar seguimiento a su reporte.", EN: "You will get a folio number to follow your report."},
	"page.report.name":        {ES: "Nombre del titular", EN: "Account holder's name"},
	"page.report.phone":       {ES: "Teléfono (10 dígitos)", EN: "Phone (10 digits)"},
	"page.report.email":       {ES: "Correo electrónico", EN: "E-mail"},
	"page.report.address":     {ES: "Domicilio del servicio", EN: "Service address"},
	"page.report.kind":        {ES: "Tipo de reporte", EN: "Kind of report"},
	"page.report.description": {ES: "Describa lo que sucede", EN: "Describe what happens"},
	"page.report.submit":      {ES: "Enviar reporte", EN: "Send report"},
	"page.report.contact":     {ES: "Deje un teléfono, un correo o ambos.", EN: "Leave a phone, an e-mail or both."},
	"page.report.done":        {ES: "Reporte recibido", EN: "Report received"},
	"page.report.folio":       {ES: "Su folio", EN: "Your folio"},
	"page.report.code":        {ES: "Código de acceso", EN: "Access code"},
	"page.report.keep":        {ES: "Guarde el folio y el código: los necesitará para consultar su reporte.", EN: "Keep the folio and the code: you need them to check your report."},
	"page.report.follow":      {ES: "Ver el estado de mi reporte", EN: "See my report's status"},
	"page.report.another":     {ES: "Hacer otro reporte", EN: "File another report"},

	// Status page.
	"page.status.title":    {ES: "Estado de su reporte", EN: "Your report's status"},
	"page.status.lookup":   {ES: "Consultar", EN: "Look up"},
	"page.status.folio":    {ES: "Folio", EN: "Folio"},
	"page.status.code":     {ES: "Código de acceso", EN: "Access code"},
	"page.status.live":     {ES: "Esta página se actualiza sola.", EN: "This page updates by itself."},
	"page.booking.title":   {ES: "Elegir otro horario", EN: "Choose another time"},
	"page.booking.intro":   {ES: "Elija la ventana de llegada que le acomode.", EN: "Choose the arrival window that suits you."},
	"page.booking.confirm": {ES: "Confirmar horario", EN: "Confirm time"},

	// Board, desk, technician.
	"page.board.title":    {ES: "Tablero de despacho", EN: "Dispatch board"},
	"page.board.day":      {ES: "Día", EN: "Day"},
	"page.board.queue":    {ES: "Por agendar o asignar", EN: "To book or assign"},
	"page.board.map":      {ES: "Mapa del día", EN: "Map of the day"},
	"page.board.optimise": {ES: "Optimizar el día", EN: "Optimise day"},
	"page.board.activity": {ES: "Actividad", EN: "Activity"},
	"page.board.detail":   {ES: "Detalle", EN: "Detail"},
	"page.desk.title":     {ES: "Atención a clientes", EN: "Customer desk"},
	"page.desk.new":       {ES: "Nuevo reporte", EN: "New report"},
	"page.desk.find":      {ES: "Buscar folio", EN: "Find a folio"},
	"page.desk.channel":   {ES: "Canal", EN: "Channel"},
	"page.desk.subject":   {ES: "Asunto", EN: "Subject"},
	"page.desk.ap":        {ES: "Punto de acceso", EN: "Access point"},
	"page.desk.lat":       {ES: "Latitud", EN: "Latitude"},
	"page.desk.lon":       {ES: "Longitud", EN: "Longitude"},
	"page.desk.create":    {ES: "Registrar reporte", EN: "Create report"},
	"page.tech.title":     {ES: "Mi ruta de hoy", EN: "Today's route"},
	"page.tech.share":     {ES: "Compartir mi ubicación", EN: "Share my position"},

	// Kinds, channels, statuses (scripts and templates).
	"kind.fault":         {ES: "Falla en el servicio o equipo", EN: "Fault in the service or equipment"},
	"kind.complaint":     {ES: "Queja", EN: "Complaint"},
	"kind.inquiry":       {ES: "Consulta", EN: "Inquiry"},
	"kind.clarification": {ES: "Aclaración", EN: "Clarification"},
	"kind.suggestion":    {ES: "Sugerencia", EN: "Suggestion"},
	"kind.cancellation":  {ES: "Cancelación", EN: "Cancellation"},
	"kind.other":         {ES: "Otro trámite", EN: "Other request"},
	"channel.phone":      {ES: "Teléfono", EN: "Phone"},
	"channel.email":      {ES: "Correo", EN: "E-mail"},
	"channel.web":        {ES: "Web", EN: "Web"},
	"channel.in_person":  {ES: "En oficina", EN: "In person"},
	"channel.sms":        {ES: "SMS", EN: "SMS"},

	"status.open":             {ES: "Abierto", EN: "Open"},
	"status.in_progress":      {ES: "En atención", EN: "In progress"},
	"status.awaiting_visit":   {ES: "Esperando visita", EN: "Awaiting a visit"},
	"status.waiting_customer": {ES: "Esperando su respuesta", EN: "Waiting for you"},
	"status.resolved":         {ES: "Resuelto", EN: "Resolved"},
	"status.closed":           {ES: "Cerrado", EN: "Closed"},
	"status.cancelled":        {ES: "Cancelado", EN: "Cancelled"},

	"visit.unscheduled":   {ES: "Sin programar", EN: "Unscheduled"},
	"visit.booked":        {ES: "Agendada", EN: "Booked"},
	"visit.assigned":      {ES: "Asignada", EN: "Assigned"},
	"visit.en_route":      {ES: "En camino", EN: "On the way"},
	"visit.on_site":       {ES: "En el domicilio", EN: "On site"},
	"visit.completed":     {ES: "Completada", EN: "Completed"},
	"visit.not_completed": {ES: "No completada", EN: "Not completed"},
	"visit.cancelled":     {ES: "Cancelada", EN: "Cancelled"},

	"verdict.upheld":     {ES: "Procedente", EN: "Upheld"},
	"verdict.not_upheld": {ES: "Improcedente", EN: "Not upheld"},

	"reason.customer_absent": {ES: "Cliente ausente", EN: "Customer absent"},
	"reason.no_access":       {ES: "Sin acceso al domicilio", EN: "No access"},
	"reason.needs_parts":     {ES: "Faltan materiales", EN: "Needs parts"},
	"reason.other":           {ES: "Otro motivo", EN: "Other reason"},

	// Messages of the scripts.
	"conn.offline":      {ES: "Sin conexión. Lo que haga se guarda y se enviará al volver la conexión.", EN: "Offline. What you do is kept and sent when the connection returns."},
	"conn.reconnecting": {ES: "Reconectando…", EN: "Reconnecting…"},
	"conn.pending":      {ES: "{n} acciones pendientes de enviar", EN: "{n} actions waiting to be sent"},
	"conn.live":         {ES: "En vivo", EN: "Live"},

	"err.offline":            {ES: "No hay conexión con el servidor. Intente de nuevo en un momento.", EN: "Cannot reach the server. Try again in a moment."},
	"err.400":                {ES: "La solicitud no es válida.", EN: "The request is not valid."},
	"err.401":                {ES: "Su sesión terminó. Inicie sesión de nuevo.", EN: "Your session ended. Sign in again."},
	"err.403":                {ES: "No tiene permiso para hacer esto.", EN: "You may not do this."},
	"err.404":                {ES: "No lo encontramos. Revise los datos.", EN: "We could not find it. Check the details."},
	"err.409":                {ES: "No se pudo: la situación cambió. Actualice e intente de nuevo.", EN: "Not possible: things changed. Refresh and try again."},
	"err.413":                {ES: "El texto es demasiado largo.", EN: "The text is too long."},
	"err.422":                {ES: "Revise este dato.", EN: "Check this value."},
	"err.429":                {ES: "Demasiados intentos. Espere unos minutos.", EN: "Too many attempts. Wait a few minutes."},
	"err.503":                {ES: "El servicio no está disponible por un momento. Intente de nuevo.", EN: "The service is unavailable for a moment. Try again."},
	"err.500":                {ES: "Algo salió mal de nuestro lado. Intente de nuevo.", EN: "Something went wrong on our side. Try again."},
	"err.login":              {ES: "Correo o contraseña incorrectos.", EN: "Wrong e-mail or password."},
	"err.status_code":        {ES: "El folio o el código no coinciden.", EN: "The folio or the code do not match."},
	"err.stale":              {ES: "Alguien más cambió esta visita. Se actualizó el tablero; intente de nuevo.", EN: "Someone else changed this visit. The board was refreshed; try again."},
	"err.refused":            {ES: "Movimiento rechazado: {reason}", EN: "Move refused: {reason}"},
	"err.not_yet":            {ES: "Esta función aún no está disponible en el servidor.", EN: "This function is not available on the server yet."},
	"err.required":           {ES: "Este dato es obligatorio.", EN: "This is required."},
	"field.email":            {ES: "Escriba un correo válido.", EN: "Enter a valid e-mail."},
	"field.password":         {ES: "Escriba su contraseña.", EN: "Enter your password."},
	"field.phone":            {ES: "Escriba un teléfono válido de 10 dígitos.", EN: "Enter a valid 10-digit phone number."},
	"field.name":             {ES: "Escriba el nombre del titular.", EN: "Enter the account holder's name."},
	"field.line":             {ES: "Escriba el domicilio.", EN: "Enter the address."},
	"field.kind":             {ES: "Elija el tipo de reporte.", EN: "Choose the kind of report."},
	"field.channel":          {ES: "Elija el canal.", EN: "Choose the channel."},
	"field.description":      {ES: "Describa el problema (máximo 10 000 caracteres).", EN: "Describe the problem (at most 10,000 characters)."},
	"field.subject":          {ES: "El asunto admite hasta 200 caracteres.", EN: "The subject takes at most 200 characters."},
	"field.lat":              {ES: "Latitud entre -90 y 90.", EN: "Latitude between -90 and 90."},
	"field.lon":              {ES: "Longitud entre -180 y 180.", EN: "Longitude between -180 and 180."},
	"field.contact":          {ES: "Deje un teléfono o un correo.", EN: "Leave a phone or an e-mail."},
	"field.cause":            {ES: "Escriba la causa de la falla.", EN: "Enter the cause of the fault."},
	"field.verdict":          {ES: "Indique si procede o no.", EN: "Say whether it is upheld."},
	"field.service_restored": {ES: "Confirme si el servicio quedó restablecido.", EN: "Confirm whether service is restored."},
	"field.reason":           {ES: "Elija un motivo.", EN: "Choose a reason."},
	"field.duration_min":     {ES: "Duración en minutos (mayor que cero).", EN: "Duration in minutes (more than zero)."},
	"field.skills":           {ES: "Indique las habilidades requeridas.", EN: "Give the required skills."},
	"field.start":            {ES: "Elija un horario.", EN: "Choose a time."},
	"field.plan_price":       {ES: "Precio mensual del plan en pesos.", EN: "Monthly plan price in pesos."},

	// Status page (scripts).
	"st.folio":         {ES: "Folio", EN: "Folio"},
	"st.status":        {ES: "Estado", EN: "Status"},
	"st.kind":          {ES: "Tipo", EN: "Kind"},
	"st.filed":         {ES: "Recibido", EN: "Filed"},
	"st.due":           {ES: "Fecha compromiso", EN: "Due"},
	"st.window":        {ES: "Visita técnica", EN: "Technician visit"},
	"st.window_at":     {ES: "{date}, entre {start} y {end}", EN: "{date}, between {start} and {end}"},
	"st.technician":    {ES: "Técnico", EN: "Technician"},
	"st.on_the_way":    {ES: "El técnico va en camino.", EN: "The technician is on the way."},
	"st.eta":           {ES: "Llegada estimada: {time}", EN: "Estimated arrival: {time}"},
	"st.on_site":       {ES: "El técnico está en su domicilio.", EN: "The technician is at your address."},
	"st.outcome":       {ES: "Resultado", EN: "Outcome"},
	"st.not_completed": {ES: "La visita no pudo completarse. Elija otro horario o espere nuestra llamada.", EN: "The visit could not be completed. Choose another time or wait for our call."},
	"st.cause":         {ES: "Causa", EN: "Cause"},
	"st.verdict":       {ES: "Dictamen", EN: "Verdict"},
	"st.restored":      {ES: "Servicio restablecido", EN: "Service restored"},
	"st.yes":           {ES: "Sí", EN: "Yes"},
	"st.no":            {ES: "No", EN: "No"},
	"st.updated":       {ES: "Actualizado a las {time}", EN: "Updated at {time}"},
	"st.change_time":   {ES: "Elegir otro horario", EN: "Choose another time"},
	"st.history":       {ES: "Historial", EN: "History"},
	"st.no_slots":      {ES: "No hay horarios disponibles en los próximos días. Llámenos para agendar.", EN: "No times available in the coming days. Call us to book."},
	"st.booked":        {ES: "Listo: su visita quedó agendada.", EN: "Done: your visit is booked."},
	"st.back":          {ES: "Ver el estado de mi reporte", EN: "See my report's status"},
	"st.no_visit":      {ES: "Este reporte no tiene una visita por agendar.", EN: "This report has no visit to book."},
	"st.gone":          {ES: "Ese horario ya no está disponible. Elija otro.", EN: "That time is no longer available. Choose another."},

	// Timeline events.
	"ev.report.created":                   {ES: "Reporte recibido", EN: "Report received"},
	"ev.report.status_changed":            {ES: "Cambio de estado", EN: "Status changed"},
	"ev.report.resolved":                  {ES: "Reporte resuelto", EN: "Report resolved"},
	"ev.report.closed":                    {ES: "Reporte cerrado", EN: "Report closed"},
	"ev.report.cancelled":                 {ES: "Reporte cancelado", EN: "Report cancelled"},
	"ev.report.reopened":                  {ES: "Reporte reabierto", EN: "Report reopened"},
	"ev.visit.created":                    {ES: "Visita creada", EN: "Visit created"},
	"ev.visit.booked":                     {ES: "Visita agendada", EN: "Visit booked"},
	"ev.visit.assigned":                   {ES: "Visita asignada", EN: "Visit assigned"},
	"ev.visit.status_changed":             {ES: "La visita cambió de estado", EN: "Visit status changed"},
	"ev.visit.completed":                  {ES: "Visita completada", EN: "Visit completed"},
	"ev.visit.cancelled":                  {ES: "Visita cancelada", EN: "Visit cancelled"},
	"ev.visit.unassigned":                 {ES: "Visita sin técnico", EN: "Visit unassigned"},
	"ev.visit.rescheduled":                {ES: "Visita reprogramada", EN: "Visit rescheduled"},
	"ev.visit.pinned":                     {ES: "Visita fijada", EN: "Visit pinned"},
	"ev.visit.unpinned":                   {ES: "Visita liberada", EN: "Visit unpinned"},
	"ev.visit.eta_changed":                {ES: "Nueva hora estimada", EN: "New ETA"},
	"ev.visit.at_risk":                    {ES: "Visita en riesgo", EN: "Visit at risk"},
	"ev.visit.media_added":                {ES: "Foto o firma recibida", EN: "Photo or signature received"},
	"ev.report.noted":                     {ES: "Nota", EN: "Note"},
	"ev.report.area_assigned":             {ES: "Área asignada", EN: "Area assigned"},
	"ev.report.reclassified":              {ES: "Tipo o prioridad cambiados", EN: "Kind or priority changed"},
	"ev.report.customer_message":          {ES: "Mensaje del cliente", EN: "Customer message"},
	"ev.report.sla_at_risk":               {ES: "Plazo de resolución en riesgo", EN: "Resolution deadline at risk"},
	"ev.report.sla_breached":              {ES: "Plazo de resolución vencido", EN: "Resolution deadline missed"},
	"ev.report.first_response_at_risk":    {ES: "Plazo de primera respuesta en riesgo", EN: "First-response deadline at risk"},
	"ev.report.first_response_breached":   {ES: "Plazo de primera respuesta vencido", EN: "First-response deadline missed"},
	"ev.report.attached_to_incident":      {ES: "Unido a una falla general", EN: "Attached to an outage"},
	"ev.report.incident_estimate_changed": {ES: "Nueva estimación de la falla general", EN: "Outage estimate changed"},
	"ev.report.restore_confirmed":         {ES: "El cliente confirmó el servicio", EN: "Customer confirmed service"},

	// Board and technician (scripts).
	"b.unassigned":            {ES: "Sin técnico", EN: "No technician"},
	"b.pin":                   {ES: "Fijar", EN: "Pin"},
	"b.unpin":                 {ES: "Soltar", EN: "Unpin"},
	"b.pinned":                {ES: "Fijada", EN: "Pinned"},
	"b.at_risk":               {ES: "Llegaría fuera de su ventana", EN: "Late for its window"},
	"b.sla_at_risk":           {ES: "Plazo del reporte en riesgo", EN: "Report deadline at risk"},
	"b.sla_breached":          {ES: "Plazo del reporte vencido", EN: "Report deadline missed"},
	"b.due":                   {ES: "vence {time}", EN: "due {time}"},
	"b.deadline":              {ES: "Plazo del reporte", EN: "Report deadline"},
	"b.sms":                   {ES: "Mensajes SMS", EN: "Text messages"},
	"b.no_sms":                {ES: "Sin mensajes SMS todavía.", EN: "No text messages yet."},
	"b.sms_error":             {ES: "error {code}", EN: "error {code}"},
	"ev.sms.sent":             {ES: "SMS enviado", EN: "Text sent"},
	"ev.sms.delivered":        {ES: "SMS entregado", EN: "Text delivered"},
	"ev.sms.failed":           {ES: "SMS no entregado", EN: "Text not delivered"},
	"sms.folio":               {ES: "folio", EN: "folio"},
	"sms.booked":              {ES: "cita agendada", EN: "appointment booked"},
	"sms.reminder":            {ES: "recordatorio", EN: "reminder"},
	"sms.en_route":            {ES: "técnico en camino", EN: "technician on the way"},
	"sms.eta_update":          {ES: "nueva hora de llegada", EN: "new arrival time"},
	"sms.completed":           {ES: "resultado", EN: "outcome"},
	"sms.not_completed":       {ES: "visita no completada", EN: "visit not completed"},
	"sms.rescheduled":         {ES: "cita cambiada", EN: "appointment changed"},
	"sms.cancelled":           {ES: "visita cancelada", EN: "visit cancelled"},
	"sms.incident":            {ES: "falla en la zona", EN: "outage in the area"},
	"sms.incident_restored":   {ES: "servicio restablecido", EN: "service restored"},
	"b.window":                {ES: "Ventana {start}–{end}", EN: "Window {start}–{end}"},
	"b.arrival":               {ES: "Llegada {time}", EN: "Arrival {time}"},
	"b.empty_queue":           {ES: "No hay visitas pendientes.", EN: "No visits waiting."},
	"b.no_window":             {ES: "Sin horario", EN: "No window yet"},
	"b.urgent":                {ES: "Urgente", EN: "Urgent"},
	"b.priority":              {ES: "Prioridad {n}", EN: "Priority {n}"},
	"b.book_for":              {ES: "Elija el horario de {folio} para {name}.", EN: "Choose the window of {folio} for {name}."},
	"b.no_slots":              {ES: "El plan no puede cumplir ningún horario en los próximos 3 días.", EN: "The plan cannot keep any window in the next 3 days."},
	"b.booked":                {ES: "Visita {folio} agendada con {name}.", EN: "Visit {folio} booked with {name}."},
	"b.booked_other":          {ES: "La visita quedó agendada, pero no con ese técnico.", EN: "The visit is booked, but not with that technician."},
	"b.no_techs":              {ES: "No hay técnicos registrados.", EN: "No technicians registered."},
	"b.optimised":             {ES: "Día optimizado.", EN: "Day optimised."},
	"b.moved":                 {ES: "Visita asignada a {name}.", EN: "Visit assigned to {name}."},
	"b.assign":                {ES: "Asignar", EN: "Assign"},
	"b.move_to":               {ES: "Asignar a…", EN: "Assign to…"},
	"b.timeline":              {ES: "Historial del folio", EN: "Folio timeline"},
	"b.close":                 {ES: "Cerrar", EN: "Close"},
	"b.description":           {ES: "Descripción", EN: "Description"},
	"b.customer":              {ES: "Cliente", EN: "Customer"},
	"b.address":               {ES: "Domicilio", EN: "Address"},
	"b.visits":                {ES: "{n} visitas", EN: "{n} visits"},
	"t.empty":                 {ES: "No tiene visitas para hoy.", EN: "No visits today."},
	"t.en_route":              {ES: "En camino", EN: "On my way"},
	"t.arrived":               {ES: "Llegué", EN: "Arrived"},
	"t.complete":              {ES: "Completar", EN: "Complete"},
	"t.not_complete":          {ES: "No se pudo completar", EN: "Could not complete"},
	"t.call":                  {ES: "Llamar", EN: "Call"},
	"t.navigate":              {ES: "Navegar", EN: "Navigate"},
	"t.maps":                  {ES: "Ver en el mapa", EN: "Open map"},
	"t.photos":                {ES: "Fotos", EN: "Photos"},
	"t.photos_max":            {ES: "opcional, hasta 5", EN: "optional, up to 5"},
	"t.photo_remove":          {ES: "Quitar foto {n}", EN: "Remove photo {n}"},
	"t.photo_bad":             {ES: "No se pudo leer esa foto. Tome otra.", EN: "That photo could not be read. Take another."},
	"t.photo_many":            {ES: "Ya tiene 5 fotos; quite una para agregar otra.", EN: "You already have 5 photos; remove one to add another."},
	"t.signature":             {ES: "Firma del cliente", EN: "Customer's signature"},
	"t.sig_clear":             {ES: "Borrar firma", EN: "Clear signature"},
	"t.file_refused":          {ES: "Un archivo no se guardó: {why}", EN: "A file was not saved: {why}"},
	"b.media":                 {ES: "Fotos y firma", EN: "Photos and signature"},
	"b.photo_n":               {ES: "Foto {n} de la visita", EN: "Photo {n} of the visit"},
	"b.signature_img":         {ES: "Firma del cliente", EN: "Customer's signature"},
	"page.tech.cause_pick":    {ES: "Causa frecuente", EN: "Common cause"},
	"page.tech.cause_choose":  {ES: "— Elija del catálogo —", EN: "— Choose from the catalog —"},
	"page.tech.cause_hint":    {ES: "El cliente leerá este texto. Elegir del catálogo lo escribe aquí; puede completarlo.", EN: "The customer reads this text. Choosing from the catalog writes it here; you may add to it."},
	"page.cause.drop_cut":     {ES: "Fibra de la acometida dañada o cortada; se reparó", EN: "Drop fibre damaged or cut; repaired"},
	"page.cause.connector":    {ES: "Conector de fibra sucio o dañado; se limpió o se cambió", EN: "Fibre connector dirty or damaged; cleaned or replaced"},
	"page.cause.ont":          {ES: "Módem (ONT) dañado; se reemplazó", EN: "Modem (ONT) faulty; replaced"},
	"page.cause.router":       {ES: "Router del cliente mal configurado; se configuró", EN: "Customer's router misconfigured; set up again"},
	"page.cause.power":        {ES: "Falla de corriente o de la fuente de poder del equipo", EN: "Mains power or the equipment's power supply"},
	"page.cause.antenna":      {ES: "Antena desalineada o dañada; se alineó o se cambió", EN: "Antenna misaligned or damaged; aligned or replaced"},
	"page.cause.wiring":       {ES: "Cableado interior del domicilio dañado; se reparó", EN: "In-home wiring damaged; repaired"},
	"page.cause.area_network": {ES: "Falla en la red de la zona; se reportó a red", EN: "Network fault in the area; passed to the network team"},
	"page.cause.no_fault":     {ES: "No se encontró falla en el servicio", EN: "No fault found in the service"},
	"t.cause":                 {ES: "Causa de la falla", EN: "Cause of the fault"},
	"t.verdict":               {ES: "Dictamen", EN: "Verdict"},
	"t.restored":              {ES: "¿Servicio restablecido?", EN: "Service restored?"},
	"t.notes":                 {ES: "Notas", EN: "Notes"},
	"t.reason":                {ES: "Motivo", EN: "Reason"},
	"t.send":                  {ES: "Enviar", EN: "Send"},
	"t.cancel":                {ES: "Cancelar", EN: "Cancel"},
	"t.queued":                {ES: "Guardado; se enviará al volver la conexión.", EN: "Saved; it will be sent when the connection returns."},
	"t.sharing":               {ES: "Compartiendo ubicación", EN: "Sharing position"},
	"t.no_geo":                {ES: "Este teléfono no permite compartir la ubicación.", EN: "This phone cannot share its position."},
	"t.stop":                  {ES: "Parada {n}", EN: "Stop {n}"},
	"d.created":               {ES: "Reporte registrado con folio {folio}.", EN: "Report created with folio {folio}."},
	"d.visit":                 {ES: "Crear visita", EN: "Create visit"},
	"d.duration":              {ES: "Duración (min)", EN: "Duration (min)"},
	"d.skills":                {ES: "Habilidades (separadas por coma)", EN: "Skills (comma separated)"},
	"d.slots":                 {ES: "Horarios disponibles", EN: "Available times"},
	"d.book":                  {ES: "Agendar", EN: "Book"},
	"d.code":                  {ES: "Código de acceso", EN: "Access code"},
	"b.map":                   {ES: "Mapa del día", EN: "Map of the day"},
	"code.overlap":            {ES: "el técnico ya tiene una visita a esa hora", EN: "the technician already has a visit at that time"},
	"code.window_unavailable": {ES: "el técnico no puede llegar dentro de la ventana prometida", EN: "the technician cannot arrive within the promised window"},
	"code.lacks_skill":        {ES: "al técnico le falta la habilidad «{skill}»", EN: "the technician lacks the skill “{skill}”"},
	"code.inactive":           {ES: "el técnico no está activo", EN: "the technician is not active"},
	"code.busy":               {ES: "otro cambio al mismo plan se adelantó; intente de nuevo", EN: "another change to the same plan won; try again"},
	"code.illegal_transition": {ES: "no es posible en el estado actual de la visita", EN: "not possible in the visit's current state"},
	"code.outside_hours":      {ES: "fuera del horario de hoy; agende una ventana", EN: "outside today's hours; book a window instead"},
	"page.tech.none":          {ES: "Su usuario no está ligado a un técnico. Pida a un administrador que lo ligue.", EN: "Your user is not linked to a technician. Ask an admin to link it."},
	"d.visit_created":         {ES: "Visita creada.", EN: "Visit created."},
	// Administration page ("page." keys: templates; "adm." keys: its script only).
	"page.nav.admin":              {ES: "Administración", EN: "Administration"},
	"page.admin.title":            {ES: "Administración", EN: "Administration"},
	"page.admin.users":            {ES: "Usuarios y roles", EN: "Users and roles"},
	"page.admin.techs":            {ES: "Técnicos", EN: "Technicians"},
	"page.admin.sla":              {ES: "Políticas de SLA", EN: "SLA policies"},
	"page.admin.sms":              {ES: "Plantillas de SMS", EN: "SMS templates"},
	"page.admin.name":             {ES: "Nombre", EN: "Name"},
	"page.admin.email":            {ES: "Correo electrónico", EN: "E-mail"},
	"page.admin.role":             {ES: "Rol", EN: "Role"},
	"page.admin.active":           {ES: "Activo", EN: "Active"},
	"page.admin.new_password":     {ES: "Nueva contraseña", EN: "New password"},
	"page.admin.save":             {ES: "Guardar", EN: "Save"},
	"page.admin.new_user":         {ES: "Nuevo usuario", EN: "New user"},
	"page.admin.initial_password": {ES: "Contraseña inicial", EN: "Initial password"},
	"page.admin.password_hint":    {ES: "Al menos 12 caracteres. Entréguela en persona; el usuario puede pedir que se cambie.", EN: "At least 12 characters. Hand it over in person."},
	"page.admin.create":           {ES: "Crear usuario", EN: "Create user"},
	"page.admin.tech_pick":        {ES: "Técnico", EN: "Technician"},
	"page.admin.sla_intro":        {ES: "Plazos de primera respuesta y de resolución. Los reportes nuevos toman estas políticas; los ya registrados conservan sus plazos.", EN: "First-response and resolution targets. New reports take these policies; filed reports keep their due times."},
	"page.admin.sms_intro":        {ES: "Textos que reciben los clientes. Cada plantilla se revisa con datos de ejemplo al guardarla.", EN: "Texts customers receive. Each template is checked with sample data when saved."},
	"role.agent":                  {ES: "Agente", EN: "Agent"},
	"role.dispatcher":             {ES: "Despachador", EN: "Dispatcher"},
	"role.technician":             {ES: "Técnico", EN: "Technician"},
	"role.admin":                  {ES: "Administrador", EN: "Administrator"},
	"adm.saved":                   {ES: "Cambios guardados.", EN: "Changes saved."},
	"adm.created":                 {ES: "Usuario {name} creado.", EN: "User {name} created."},
	"adm.you":                     {ES: "(usted)", EN: "(you)"},
	"adm.save":                    {ES: "Guardar", EN: "Save"},
	"adm.save_user":               {ES: "Guardar {name}", EN: "Save {name}"},
	"adm.role_of":                 {ES: "Rol de {name}", EN: "Role of {name}"},
	"adm.active_of":               {ES: "{name} activo", EN: "{name} active"},
	"adm.password_of":             {ES: "Nueva contraseña de {name}", EN: "New password for {name}"},
	"adm.new_tech":                {ES: "— Nuevo técnico —", EN: "— New technician —"},
	"adm.inactive":                {ES: "inactivo", EN: "inactive"},
	"adm.name":                    {ES: "Nombre", EN: "Name"},
	"adm.phone":                   {ES: "Teléfono", EN: "Phone"},
	"adm.skills":                  {ES: "Habilidades (separadas por coma)", EN: "Skills (comma separated)"},
	"adm.home_lat":                {ES: "Latitud de la base", EN: "Home base latitude"},
	"adm.home_lon":                {ES: "Longitud de la base", EN: "Home base longitude"},
	"adm.user_id":                 {ES: "Usuario con que entra (id)", EN: "User he signs in with (id)"},
	"adm.tech_active":             {ES: "Activo (recibe visitas)", EN: "Active (gets visits)"},
	"adm.shifts":                  {ES: "Turnos semanales (vacío: no trabaja ese día)", EN: "Weekly shifts (empty: does not work that day)"},
	"adm.shift_start":             {ES: "Entrada del {day}", EN: "{day} start"},
	"adm.shift_end":               {ES: "Salida del {day}", EN: "{day} end"},
	"adm.exceptions":              {ES: "Ausencias y tiempo libre (próximos 60 días)", EN: "Time off and absences (next 60 days)"},
	"adm.exc_start":               {ES: "Desde", EN: "From"},
	"adm.exc_end":                 {ES: "Hasta", EN: "Until"},
	"adm.exc_reason":              {ES: "Motivo", EN: "Reason"},
	"adm.exc_note":                {ES: "Nota", EN: "Note"},
	"adm.exc_add":                 {ES: "Registrar ausencia", EN: "Record absence"},
	"adm.exc_none":                {ES: "Sin ausencias próximas.", EN: "No upcoming absences."},
	"adm.exc_added":               {ES: "Ausencia registrada; sus visitas se vuelven a planear.", EN: "Absence recorded; his visits are re-planned."},
	"adm.exc.time_off":            {ES: "Tiempo libre", EN: "Time off"},
	"adm.exc.sick":                {ES: "Enfermedad", EN: "Sick"},
	"adm.exc.unavailable":         {ES: "No disponible", EN: "Unavailable"},
	"adm.exc.other":               {ES: "Otro", EN: "Other"},
	"adm.day.0":                   {ES: "domingo", EN: "Sunday"},
	"adm.day.1":                   {ES: "lunes", EN: "Monday"},
	"adm.day.2":                   {ES: "martes", EN: "Tuesday"},
	"adm.day.3":                   {ES: "miércoles", EN: "Wednesday"},
	"adm.day.4":                   {ES: "jueves", EN: "Thursday"},
	"adm.day.5":                   {ES: "viernes", EN: "Friday"},
	"adm.day.6":                   {ES: "sábado", EN: "Saturday"},
	"adm.sla_default":             {ES: "Política general", EN: "Default policy"},
	"adm.sla_rules":               {ES: "Reglas por tipo y prioridad (gana la primera que coincide)", EN: "Rules by kind and priority (the first match wins)"},
	"adm.first_response":          {ES: "Primera respuesta", EN: "First response"},
	"adm.resolution":              {ES: "Resolución", EN: "Resolution"},
	"adm.basis":                   {ES: "{what}: base", EN: "{what}: basis"},
	"adm.amount":                  {ES: "{what}: cantidad", EN: "{what}: amount"},
	"adm.basis.none":              {ES: "Sin plazo", EN: "No target"},
	"adm.basis.wall_clock":        {ES: "Minutos corridos", EN: "Wall-clock minutes"},
	"adm.basis.business_time":     {ES: "Minutos hábiles", EN: "Business minutes"},
	"adm.basis.business_days":     {ES: "Días hábiles", EN: "Business days"},
	"adm.kind":                    {ES: "Tipo", EN: "Kind"},
	"adm.priority":                {ES: "Prioridad", EN: "Priority"},
	"adm.any":                     {ES: "Cualquiera", EN: "Any"},
	"adm.priority.low":            {ES: "Baja", EN: "Low"},
	"adm.priority.normal":         {ES: "Normal", EN: "Normal"},
	"adm.priority.high":           {ES: "Alta", EN: "High"},
	"adm.priority.urgent":         {ES: "Urgente", EN: "Urgent"},
	"adm.rule_n":                  {ES: "Regla {n}", EN: "Rule {n}"},
	"adm.add_rule":                {ES: "Añadir regla", EN: "Add rule"},
	"adm.remove_rule":             {ES: "Quitar regla {n}", EN: "Remove rule {n}"},
	"adm.sla_save":                {ES: "Guardar políticas", EN: "Save policies"},
	"adm.unavailable":             {ES: "Esta sección no está disponible en este servidor.", EN: "This section is not available on this server."},
	"adm.sms_sample":              {ES: "Ejemplo: {text}", EN: "Sample: {text}"},
	"adm.sms_segments":            {ES: "{n} segmento(s) SMS", EN: "{n} SMS segment(s)"},
	"adm.sms_restore":             {ES: "Restaurar el original", EN: "Restore the default"},
	"adm.sms_custom":              {ES: "personalizada", EN: "customised"},
	"adm.sms.values":              {ES: "Datos del original: {list}", EN: "Values the default uses: {list}"},
	"adm.sms.restored":            {ES: "Se restauró el texto original.", EN: "The default text was restored."},
	"adm.sms.unknown":             {ES: "La plantilla usa un dato que no existe: {name}. Use los datos del original.", EN: "The template uses a value that does not exist: {name}. Use the values of the default."},
	"adm.sms.unknown_func":        {ES: "La plantilla usa una función que no existe: {name}.", EN: "The template uses a function that does not exist: {name}."},
	"adm.sms.syntax":              {ES: "La plantilla tiene un error de escritura: revise que cada «{{» tenga su «}}».", EN: "The template has a typing error: check that every “{{” has its “}}”."},
	"adm.sms.too_long":            {ES: "El mensaje pasa de 1600 caracteres.", EN: "The message is longer than 1600 characters."},
	"adm.sms.empty":               {ES: "Con los datos de ejemplo el mensaje queda vacío.", EN: "With the sample data the message is empty."},
	"adm.sms.empty_save":          {ES: "Escriba el texto del mensaje. Para volver al original use «Restaurar el original».", EN: "Write the message text. To go back to the default use “Restore the default”."},
	"adm.field.password":          {ES: "La contraseña debe tener al menos 12 caracteres.", EN: "The password needs at least 12 characters."},
	"adm.field.email":             {ES: "Escriba un correo válido.", EN: "Enter a valid e-mail."},
	"adm.field.name":              {ES: "Escriba el nombre.", EN: "Enter the name."},
	"adm.field.role":              {ES: "Elija un rol.", EN: "Choose a role."},
	"adm.field.phone":             {ES: "Escriba un teléfono válido.", EN: "Enter a valid phone number."},
	"adm.field.skills":            {ES: "Revise las habilidades.", EN: "Check the skills."},
	"adm.field.lat":               {ES: "Latitud entre -90 y 90.", EN: "Latitude between -90 and 90."},
	"adm.field.lon":               {ES: "Longitud entre -180 y 180.", EN: "Longitude between -180 and 180."},
	"adm.field.start":             {ES: "Revise el inicio (HH:MM o fecha).", EN: "Check the start (HH:MM or date)."},
	"adm.field.end":               {ES: "El fin debe ser después del inicio.", EN: "The end must be after the start."},
	"adm.field.minutes":           {ES: "Escriba un número de minutos mayor que cero.", EN: "Enter a number of minutes above zero."},
	"adm.field.days":              {ES: "Escriba un número de días mayor que cero.", EN: "Enter a number of days above zero."},
	"adm.field.body":              {ES: "La plantilla no se pudo interpretar o es demasiado larga.", EN: "The template could not be read or is too long."},
	"adm.field.user_id":           {ES: "Ese usuario no existe o no tiene el rol de técnico.", EN: "That user does not exist or is not a technician."},
	"adm.code.self_change":        {ES: "No puede quitarse el rol de administrador ni desactivarse a sí mismo.", EN: "You cannot take away your own administrator role or deactivate yourself."},
	"adm.code.email_taken":        {ES: "Ya existe un usuario con ese correo.", EN: "A user with this e-mail already exists."},
	"adm.code.stale_version":      {ES: "Alguien más cambió este registro; se volvió a cargar. Repita el cambio.", EN: "Someone else changed this record; it was reloaded. Make the change again."},
}
