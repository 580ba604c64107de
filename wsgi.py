from pharmacy import create_app

app = create_app()
