package pages_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"despacho/dispatch"
)

// TestBrowserAdminSplitShifts: Ana works a split Monday (08:00–12:00 and 14:00–18:00) and
// a Tuesday with a lunch hour between 13:00 and 15:00. An admin changes her phone on the
// admin page: her shifts come back as they were (the page drew one shift per day and no
// break, so a save dropped her Monday morning and her lunch). A Monday afternoon that
// overlaps the morning, and a lunch longer than its window, are refused in Spanish beside
// the shift; an account already linked to another technician is named as such; emptying
// the account field unlinks her.
func TestBrowserAdminSplitShifts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, "jefa@example.mx", dispatch.RoleAdmin)
	acct := e.user(t, "ana@example.mx", dispatch.RoleTechnician)
	tok := token(t, e, "jefa@example.mx")
	var ana struct{ ID int64 }
	call(t, e, tok, "POST", "/api/technicians", fmt.Sprintf(`{"name":"Ana Técnica","phone":"5512345678","skills":["fiber"],
		"home":{"lat":19.43,"lon":-99.13},"user_id":%d,"shifts":[
		{"weekday":1,"start":"14:00","end":"18:00"},{"weekday":1,"start":"08:00","end":"12:00"},
		{"weekday":2,"start":"08:00","end":"18:00","break":{"start":"13:00","end":"15:00","minutes":60}}]}`, acct.ID), 201, &ana)
	beto := technician(t, e, tok, "Beto Técnico", 0, 19.40, -99.10)
	path := "/api/technicians/" + strconv.FormatInt(ana.ID, 10)

	ctx := tab(t, true)
	do(t, ctx, chromedp.EmulateViewport(1280, 900))
	signInBrowser(t, ctx, e.URL, "%2Fadmin%23technicians", "jefa@example.mx")
	waitText(t, ctx, "#tech-pick", "Ana Técnica")
	do(t, ctx,
		chromedp.WaitVisible(chromedp.ID("sh-1-1-start")),
		clear("tf-phone"),
		sendKeys(chromedp.ID("tf-phone"), "55 8765 4321"),
		chromedp.Click(chromedp.ID("tech-save")),
	)
	waitText(t, ctx, "#admin-msg", "Cambios guardados")
	var got dispatch.Technician
	read := func() { got = dispatch.Technician{}; call(t, e, tok, "GET", path, "", 200, &got) }
	read()
	want := "1 08:00-12:00; 1 14:00-18:00; 2 08:00-18:00 break 13:00-15:00 60"
	if s := shiftsText(got.Shifts); got.Phone != "+525587654321" || s != want {
		t.Fatalf("after changing her phone: %s %s, want +525587654321 %s", got.Phone, s, want)
	}

	// Monday afternoon from 11:00 overlaps the morning.
	do(t, ctx,
		chromedp.Evaluate[chromedp.Void](`document.getElementById('admin-msg').hidden = true`),
		chromedp.SetValue(chromedp.ID("sh-1-1-start"), "11:00"),
		chromedp.Click(chromedp.ID("tech-save")),
	)
	waitText(t, ctx, "#tech-form", "se traslapa con otro del mismo día")
	// A 150-minute lunch between 13:00 and 15:00.
	do(t, ctx,
		chromedp.SetValue(chromedp.ID("sh-1-1-start"), "14:00"),
		chromedp.SetValue(chromedp.ID("sh-2-brk-min"), "150"),
		chromedp.Click(chromedp.ID("tech-save")),
	)
	waitText(t, ctx, "#err-shifts-2--break-minutes", "Los minutos de comida deben")
	// A third Monday shift added with "+", and the lunch set back.
	do(t, ctx,
		chromedp.SetValue(chromedp.ID("sh-2-brk-min"), "45"),
		chromedp.Click(chromedp.CSS(`.shift[data-day="1"] button`)),
		chromedp.WaitVisible(chromedp.ID("sh-1-2-start")),
		chromedp.SetValue(chromedp.ID("sh-1-2-start"), "19:00"),
		chromedp.SetValue(chromedp.ID("sh-1-2-end"), "21:00"),
		chromedp.Click(chromedp.ID("tech-save")),
	)
	waitText(t, ctx, "#admin-msg", "Cambios guardados")
	read()
	want = "1 08:00-12:00; 1 14:00-18:00; 1 19:00-21:00; 2 08:00-18:00 break 13:00-15:00 45"
	if s := shiftsText(got.Shifts); s != want {
		t.Fatalf("shifts = %s, want %s", s, want)
	}

	// Beto cannot take Ana's account.
	do(t, ctx,
		chromedp.Evaluate[chromedp.Void](`document.getElementById('admin-msg').hidden = true`),
		chromedp.SetValue(chromedp.ID("tech-pick"), strconv.FormatInt(beto, 10)),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('tech-pick').dispatchEvent(new Event('change'))`),
		chromedp.WaitVisible(chromedp.ID("tf-user")),
		chromedp.SetValue(chromedp.ID("tf-user"), strconv.FormatInt(acct.ID, 10)),
		chromedp.Click(chromedp.ID("tech-save")),
	)
	waitText(t, ctx, "#err-user-id", "ya está vinculado a otro técnico")

	// Ana's account field emptied: she is unlinked.
	do(t, ctx,
		chromedp.SetValue(chromedp.ID("tech-pick"), strconv.FormatInt(ana.ID, 10)),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('tech-pick').dispatchEvent(new Event('change'))`),
		chromedp.WaitVisible(chromedp.ID("sh-1-2-start")),
		clear("tf-user"),
		chromedp.Click(chromedp.ID("tech-save")),
	)
	waitText(t, ctx, "#admin-msg", "Cambios guardados")
	read()
	if got.UserID != 0 {
		t.Fatalf("user_id after emptying the field = %d, want 0 (unlinked)", got.UserID)
	}
}

func shiftsText(ss []dispatch.WeeklyShift) string {
	var out []string
	for _, s := range ss {
		x := fmt.Sprintf("%d %s-%s", s.Weekday, s.Start, s.End)
		if b := s.Break; b != nil {
			x += fmt.Sprintf(" break %s-%s %d", b.Start, b.End, b.Minutes)
		}
		out = append(out, x)
	}
	return strings.Join(out, "; ")
}
