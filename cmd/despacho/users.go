package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
	"despacho/dispatch/web"
	"despacho/migrations"
)

// runUsers implements `despacho users create --email E --name N --role R` with the password
// read from one line of standard input (web.MinAdminPassword characters at least, as on the
// admin page); it prints the new user's id.
func runUsers(ctx context.Context, args []string, e env) error {
	if len(args) == 0 || args[0] != "create" {
		return usagef("users: expected the subcommand create (despacho users create --email E --name N --role R)")
	}
	fs := flag.NewFlagSet("users create", flag.ContinueOnError)
	email := fs.String("email", "", "e-mail (sign-in name)")
	name := fs.String("name", "", "full name")
	role := fs.String("role", "", "admin, dispatcher, agent or technician")
	if err := parseFlags(fs, args[1:], e.stdout, "users create --email E --name N --role R < password", fmt.Sprintf(`Creates a staff account; the password, %d characters or more, is read from one line of
standard input.`, web.MinAdminPassword)); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("users create: unexpected argument %q", fs.Arg(0))
	}
	for _, f := range []struct{ name, v string }{{"--email", *email}, {"--name", *name}, {"--role", *role}} {
		if strings.TrimSpace(f.v) == "" {
			return usagef("users create: %s is required", f.name)
		}
	}
	r, err := dispatch.ParseRole(*role)
	if err != nil {
		return usagef("users create: --role must be admin, dispatcher, agent or technician (got %q)", *role)
	}
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		return usagef("users create: reading the password from standard input: %v", err)
	}
	password := strings.TrimRight(line, "\r\n")
	// The rule the admin page and API hold: this is how the first administrator is made,
	// and HashPassword's floor (8) let "admin123" through. (Checked after the flags, which
	// NewUser checks first.)
	short := func() error {
		return usagef("users create: password (standard input): must be at least %d characters (got %d)",
			web.MinAdminPassword, utf8.RuneCountInString(password))
	}
	u, err := dispatch.NewUser(*email, *name, r, password)
	if err != nil {
		var de *dispatch.Error
		if asDomain(err, &de) {
			if de.Field == "password" && utf8.RuneCountInString(password) < web.MinAdminPassword {
				return short()
			}
			return usagef("users create: %s: %s", flagName(de.Field), de.Message)
		}
		return err
	}
	if utf8.RuneCountInString(password) < web.MinAdminPassword {
		return short()
	}
	log := newLogger(e)
	db, closeDB, err := openDatabase(ctx, e, log, 2)
	if err != nil {
		return err
	}
	defer closeDB()
	if _, err := migrations.Apply(ctx, db); err != nil {
		return err
	}
	if err := postgres.NewUsers(db).Create(ctx, u); err != nil {
		if dispatch.ErrorKind(err) == dispatch.KindConflict {
			return usagef("users create: a user with e-mail %s already exists", u.Email)
		}
		return err
	}
	fmt.Fprintln(e.stdout, u.ID)
	return nil
}

func flagName(field string) string {
	if field == "password" {
		return "password (standard input)"
	}
	return "--" + field
}
