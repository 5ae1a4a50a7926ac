"""`dealcli user|dept|role ...`, `dealcli whoami`, `dealcli can` (see docs/access.md)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from dealcli.commands.options import Format, FormatOpt, RecordFormatOpt, YesOpt, confirm_delete, print_ids, session

user_app = typer.Typer(help="The users of the repository (login, name, e-mails, department, roles).",
                       no_args_is_help=True)
dept_app = typer.Typer(help="Departments: a tree, each with a head.", no_args_is_help=True)
role_app = typer.Typer(help="Roles: lists of grants KIND[PIPELINE].stage[STAGE]:ACTION=LEVEL.",
                       no_args_is_help=True)

NameOpt = Annotated[Optional[str], typer.Option("--name", help="Display name.")]
EmailOpt = Annotated[Optional[list[str]], typer.Option("--email", help="An e-mail of the user; a git author "
                                                       "or $DEALCLI_USER with it maps to the user (repeatable).")]
DeptOpt = Annotated[Optional[str], typer.Option("--dept", help="The user's department.")]
RoleOpt = Annotated[Optional[list[str]], typer.Option("--role", help="A role (repeatable; default for a new "
                                                      "user: manager).")]
LoginArg = Annotated[str, typer.Argument(metavar="LOGIN", help="The user's login (or one of its e-mails).",
                                         show_default=False)]
GrantOpt = Annotated[Optional[list[str]], typer.Option(
    "--grant", metavar="GRANT", help="KIND[PIPELINE].stage[STAGE]:ACTION=LEVEL, e.g. deal:edit=department, "
    "deal[sales]:read=all, \"deal.stage[won]:move=none\"; KIND and ACTION may be * (repeatable).")]


def _one(record: dict, fmt: Format) -> None:
    from dealcli.commands.records import emit_one

    emit_one(record, fmt.value)


# -- user ------------------------------------------------------------------------------------
@user_app.command("add")
def user_add(ctx: typer.Context, login: LoginArg, name: NameOpt = None, email: EmailOpt = None,
             dept: DeptOpt = None, role: RoleOpt = None) -> None:
    """Add a user and print its login. In a repository with users, only a user with the settings
    right (role admin) may add users; add the first one with --role admin."""
    from dealcli import team

    s = session(ctx)
    print_ids([team.user_add(s, login, name, email or [], dept, role or [])["login"]])


@user_app.command("list")
def user_list(ctx: typer.Context, format: FormatOpt = Format.table) -> None:
    """List the users by login."""
    from dealcli import team
    from dealcli.commands.records import emit_list

    emit_list(team.user_rows(session(ctx)), format.value, ["login", "name", "emails", "dept", "roles"])


@user_app.command("show")
def user_show(ctx: typer.Context, login: LoginArg, format: RecordFormatOpt = Format.table) -> None:
    """Show one user: e-mails, department, roles and the departments it heads."""
    from dealcli import team

    _one(team.user_show(session(ctx), login), format)


@user_app.command("edit")
def user_edit(ctx: typer.Context, login: LoginArg, name: NameOpt = None, email: EmailOpt = None,
              dept: DeptOpt = None, role: RoleOpt = None) -> None:
    """Change a user: --email and --role replace the whole list; --dept '' removes the department."""
    from dealcli import team

    team.user_edit(session(ctx), login, name, email, dept, role)


@user_app.command("delete")
def user_delete(ctx: typer.Context, login: LoginArg, yes: YesOpt = False) -> None:
    """Remove a user (records keep its login as responsible)."""
    from dealcli import team

    s = session(ctx)
    confirm_delete(s, yes, "user delete", "user", [login], legacy=True)
    team.user_delete(s, login)


# -- dept ------------------------------------------------------------------------------------
DeptArg = Annotated[str, typer.Argument(metavar="NAME", help="Department id.", show_default=False)]
ParentOpt = Annotated[Optional[str], typer.Option("--parent", metavar="D", help="The parent department.")]
HeadOpt = Annotated[Optional[str], typer.Option("--head", metavar="LOGIN", help="The head of the department.")]
TitleOpt = Annotated[Optional[str], typer.Option("--title", help="Display name (default: NAME).")]


@dept_app.command("add")
def dept_add(ctx: typer.Context, name: DeptArg, parent: ParentOpt = None, head: HeadOpt = None,
             title: TitleOpt = None) -> None:
    """Add a department (under --parent) and print its id."""
    from dealcli import team

    print_ids([team.dept_add(session(ctx), name, parent, head, title)["id"]])


@dept_app.command("list")
def dept_list(ctx: typer.Context, format: FormatOpt = Format.table) -> None:
    """List the departments as a tree (parents first; path a/b/c), with heads and members."""
    from dealcli import team
    from dealcli.commands.records import emit_list

    emit_list(team.dept_rows(session(ctx)), format.value, ["path", "name", "head", "members"])


@dept_app.command("show")
def dept_show(ctx: typer.Context, name: DeptArg, format: RecordFormatOpt = Format.table) -> None:
    """Show one department."""
    from dealcli import team

    _one(team.dept_show(session(ctx), name), format)


@dept_app.command("edit")
def dept_edit(ctx: typer.Context, name: DeptArg, parent: ParentOpt = None, head: HeadOpt = None,
              title: TitleOpt = None) -> None:
    """Change a department's parent, head or title ('' clears parent or head)."""
    from dealcli import team

    team.dept_edit(session(ctx), name, parent, head, title)


@dept_app.command("delete")
def dept_delete(ctx: typer.Context, name: DeptArg, yes: YesOpt = False) -> None:
    """Remove a department without users or sub-departments."""
    from dealcli import team

    s = session(ctx)
    confirm_delete(s, yes, "dept delete", "department", [name], legacy=True)
    team.dept_delete(s, name)


# -- role ------------------------------------------------------------------------------------
RoleArg = Annotated[str, typer.Argument(metavar="NAME", help="Role name.", show_default=False)]
DescOpt = Annotated[Optional[str], typer.Option("--description", help="What the role is for.")]
RevokeOpt = Annotated[Optional[list[str]], typer.Option("--revoke", metavar="SELECTOR", help="Remove the grant "
                                                        "KIND[PIPELINE].stage[STAGE]:ACTION (repeatable).")]


@role_app.command("add")
def role_add(ctx: typer.Context, name: RoleArg, grant: GrantOpt = None, description: DescOpt = None) -> None:
    """Add a role made of grants. A user with several roles gets the most permissive answer."""
    from dealcli import team

    print_ids([team.role_save(session(ctx), name, grant or [], [], description, new=True)["name"]])


@role_app.command("edit")
def role_edit(ctx: typer.Context, name: RoleArg, grant: GrantOpt = None, revoke: RevokeOpt = None,
              description: DescOpt = None) -> None:
    """Add or replace grants (a grant replaces the one with the same KIND[PIPELINE].stage[STAGE]:ACTION),
    or --revoke them. Editing a built-in role stores the edited copy in dealcli.yaml."""
    from dealcli import team

    team.role_save(session(ctx), name, grant or [], revoke or [], description)


@role_app.command("list")
def role_list(ctx: typer.Context, format: FormatOpt = Format.table) -> None:
    """List the roles (built-in and from dealcli.yaml) with their grants."""
    from dealcli import team
    from dealcli.commands.records import emit_list

    emit_list(team.role_rows(session(ctx)), format.value, ["name", "origin", "grants"])


@role_app.command("show")
def role_show(ctx: typer.Context, name: RoleArg, format: RecordFormatOpt = Format.table) -> None:
    """Show one role: its grants and the users who have it."""
    from dealcli import team

    _one(team.role_show(session(ctx), name), format)


@role_app.command("delete")
def role_delete(ctx: typer.Context, name: RoleArg, yes: YesOpt = False) -> None:
    """Remove a role of dealcli.yaml (an edited built-in role goes back to its built-in grants)."""
    from dealcli import team

    s = session(ctx)
    confirm_delete(s, yes, "role delete", "role", [name], legacy=True)
    team.role_delete(s, name)


# -- whoami, can -------------------------------------------------------------------------------
def whoami(ctx: typer.Context, format: RecordFormatOpt = Format.table) -> None:
    """Who the acting user is (from --as, $DEALCLI_USER, the repository default or git user.email),
    with department and roles. Exit 6 when that identity is not a user of the repository."""
    from dealcli import team

    _one(team.whoami(session(ctx)), format)


def can(ctx: typer.Context,
        user: Annotated[str, typer.Argument(metavar="USER", help="A login or e-mail.", show_default=False)],
        action: Annotated[str, typer.Argument(metavar="ACTION", help="read, add, edit, delete, export, import, "
                                              "settings, reopen, impersonate, or move:STAGE.", show_default=False)],
        record: Annotated[str, typer.Argument(metavar="RECORD", help="KIND:ID (deal:4hk..., company:...), a deal "
                                              "id, a bare KIND (a new record of USER's), settings, or user:LOGIN.",
                                              show_default=False)],
        format: RecordFormatOpt = Format.table) -> None:
    """Explain whether USER may do ACTION on RECORD: allowed or not, by which role and which grant.
    Exit 0 when allowed, 1 when not."""
    from dealcli import team

    decision = team.can(session(ctx), user, action, record)
    if format == Format.table:
        print_ids([("allowed: " if decision.allowed else "denied: ") + decision.line()])
    else:
        _one(decision.as_dict(), format)
    if not decision.allowed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
    app.add_typer(dept_app, name="dept")
    app.add_typer(role_app, name="role")
    app.command("whoami")(whoami)
    app.command("can")(can)
