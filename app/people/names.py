"""What realistic people look like: names, departments, job titles, roles (for the generator)."""

from __future__ import annotations

FIRST_NAMES = (
    "Aaliyah Aaron Abigail Adam Adrian Aisha Alejandro Alex Alice Amara Amelia Ana Andrea Andrew Anna "
    "Anthony Aria Arjun Ava Beatriz Benjamin Bianca Camila Carlos Caroline Charlotte Chen Chloe Chris "
    "Daniel David Deepa Diego Dmitri Elena Eli Elijah Emily Emma Ethan Eva Fatima Felix Fernando Freya "
    "Gabriel Grace Hannah Hana Harper Hiro Hugo Ian Ibrahim Isabella Ivan Jack Jacob James Jana Javier "
    "Jin John Jonas Jose Julia Kai Karen Kenji Laila Lars Laura Leah Leo Liam Lina Lucas Lucia Luis "
    "Maria Mark Mateo Maya Mei Mia Michael Mohammed Nadia Naomi Nathan Nina Noah Olivia Omar Oscar "
    "Paul Priya Rafael Rahul Ravi Rosa Ryan Sakura Samuel Sara Sebastian Sofia Sophie Sun Tariq Thomas "
    "Valentina Victor Wei William Yara Yuki Zara Zoe"
).split()
LAST_NAMES = (
    "Adams Ahmed Alvarez Anderson Bailey Baker Bauer Becker Bennett Brown Campbell Castillo Chen Clark "
    "Collins Cruz Davis Diaz Edwards Evans Fischer Flores Garcia Gomez Gonzalez Gupta Hall Harris "
    "Hernandez Hill Hoffmann Huang Hughes Ito Jackson Jansen Johnson Jones Kato Kelly Khan Kim King Klein "
    "Kowalski Kumar Larsen Lee Lewis Li Lopez Martin Martinez Meyer Miller Mitchell Moore Morales Morgan "
    "Muller Murphy Nakamura Nguyen Nielsen Novak Okafor Olsen Ortiz Patel Perez Peterson Phillips Ramirez "
    "Reyes Richter Rivera Roberts Robinson Rodriguez Rossi Russo Sanchez Sato Schmidt Schneider Scott "
    "Silva Singh Smith Suzuki Tanaka Taylor Thomas Thompson Torres Turner Walker Wang Watanabe Weber "
    "White Williams Wilson Wong Wright Wu Yamamoto Young Zhang"
).split()
DEPARTMENTS = {
    "Engineering": ("Software Engineer", "Senior Software Engineer", "Engineering Manager", "QA Engineer"),
    "Sales": ("Account Executive", "Sales Manager", "Sales Development Representative"),
    "Marketing": ("Marketing Manager", "Content Strategist", "Designer"),
    "Finance": ("Accountant", "Financial Analyst", "Controller"),
    "Human Resources": ("HR Generalist", "Recruiter", "People Partner"),
    "IT": ("IT Administrator", "Help Desk Technician", "Systems Engineer"),
    "Operations": ("Operations Manager", "Logistics Coordinator", "Office Manager"),
    "Support": ("Support Specialist", "Support Team Lead"),
}
DIVISIONS = ("Corporate", "Field", "Product", "Shared Services")
UNIT_NAMES = (
    "Headquarters", "East Region", "West Region", "Europe", "Asia Pacific", "Retail Stores",
    "Warehouse", "Research Lab", "Remote Staff", "Contractors",
)  # fmt: skip
# Apple Business roles (support "Intro to roles and permissions"); most people are Staff.
STAFF = "Staff"
ADMIN_ROLES = ("Administrator", "Site Manager", "People Manager", "Device Manager", "Content Manager")
GROUP_KINDS = ("Team", "Project", "Office", "Committee", "Squad")
